"""eduops: the maintenance control plane for an online-education platform."""
__version__ = "0.1.0"
