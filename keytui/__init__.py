"""keytui: AWS IAM credential hygiene in the terminal."""

__version__ = "0.1.0"
