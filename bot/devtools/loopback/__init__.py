"""Loopback stand-ins for the remote services the bot talks to (Slack's Web API for now).

They speak the real wire protocol on 127.0.0.1, so the real client libraries talk to them
unchanged. The tests use them, and so does `career-bot bench` to time the Slack endpoint.
"""
