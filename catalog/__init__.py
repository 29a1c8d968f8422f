"""The catalog: products and SKUs of a tenant. The domain (``models``, ``services``,
``selectors``, ``errors``) imports neither identity nor DRF; the API layer (``apis``, ``urls``)
authenticates the caller and reads the tenant's products for it."""
