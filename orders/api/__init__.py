"""The JSON APIs: order status info (read), orders (write) and webhooks (in). See orders.api.main."""
