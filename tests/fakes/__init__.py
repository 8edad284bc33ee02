"""Test doubles: real git repositories built on the fly and a fake GitHub REST API over them."""
