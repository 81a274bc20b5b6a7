"""noisyexp: noisy activation functions (Gulcehre et al., ICML 2016) and an experiment runner."""

__all__ = ["__version__"]

__version__ = "0.1.0"
