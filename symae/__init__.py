"""symae: earthquake source time functions from symmetric variational autoencoders."""

__version__ = "0.1.0"
