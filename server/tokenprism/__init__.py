"""TokenPrism: see exactly how an LLM tokenizer cuts your document."""

__version__ = "0.1.0"
