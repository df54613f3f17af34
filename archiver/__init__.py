"""Evidence archiver: capture social-media pages as faithful, verifiable evidence."""

__version__ = "0.1.0"
SOFTWARE_NAME = "archiver"
