"""Shopify connector pieces: webhook verification and parsing, the Admin GraphQL client.

The shared GraphQL machinery (documents, client, typed errors) lives in
:mod:`integrations.shopify.graphql` and is reused by :mod:`integrations.saleor`.
"""
