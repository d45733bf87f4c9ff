"""yilian (医联): regional smart-healthcare platform for a city medical alliance (医联体)."""

__version__ = "0.1.0"
