"""Character-level sequence-to-sequence English -> French translation (the keras.io lstm_seq2seq recipe).

    from model import load_source, DecodeOptions
    translator = load_source("default")
    print(translator.translate("Go.").translation)
"""

from .translator import DecodeOptions, InputError, Translation, Translator
from .sources import SourceError, load_source, resolve_source

__all__ = ["DecodeOptions", "InputError", "Translation", "Translator", "SourceError", "load_source", "resolve_source"]
