"""Saleor connector pieces: webhook signature (JWS / legacy HMAC) and payloads, the API client.

The GraphQL machinery is shared with Shopify (:mod:`integrations.shopify.graphql`); Saleor's
own operations and schema subset live in :mod:`integrations.saleor.graphql`.
"""
