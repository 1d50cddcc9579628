"""The TokenPrism language server (pygls): ``tokenprism serve``."""
