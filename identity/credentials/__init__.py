"""What proves a caller, the lowest room of identity: ``secrets`` (random secrets stored as a
lookup prefix and a hash), ``keyring`` (the signing keys every process shares), ``jws`` (a JWT
parsed once, verified by PyJWT's own checks), ``tokens`` (what our token kinds share),
``kinds/`` (one module per kind we mint, and the registry of bearer kinds), ``refresh``
(refresh-token families) and ``revocation`` (revoked subjects, one cache read per request).
It imports no other room."""
