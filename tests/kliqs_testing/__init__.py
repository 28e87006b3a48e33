"""Test support shared by the whole suite: databases, live servers, accounts."""
