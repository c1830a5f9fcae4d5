"""parcelguard: protection and pluralistic supervision of consumers' personal
information in e-commerce parcel logistics."""

__version__ = "0.1.0"
