"""pingan: a chat-bot front door for community safety work."""

__version__ = "0.1.0"
