#!/usr/bin/env bash
# The README's walk-through (make run prints it with its address): run it in the project folder
# while make run serves, or paste it step by step.
API=http://127.0.0.1:8000
KEY=$(cat .demo-storefront-key)
CLIENT=$(cat .demo-sales-channel-client-id)   # the sales channel: a public client, no secret
APP=$(cat .demo-loyalty-app-client-id)        # the loyalty app, a third-party app
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# 1. An anonymous shopper token; its anonymousId (the token's jti) keys the cart.
AUTH=$(curl -s -X POST $API/commerceapi/authentication/ -H "X-Auth-Key: $KEY")
echo "$AUTH"    # {"tokenType":"Bearer","accessToken":"eyJ…","expiresIn":7200,"refreshToken":"","anonymousId":"…"}
TOKEN=$(echo "$AUTH" | json accessToken); ANON=$(echo "$AUTH" | json anonymousId)

# 2. The customer context for that token; every cart call sends both.
CONTEXT=$(curl -s $API/commerceapi/authentication/customercontext \
  -H "Authorization: Bearer $TOKEN" | json customerContext)

# 3. Browse the catalog (with the storefront key or a shopper token).
curl -s $API/commerceapi/products -H "X-Auth-Key: $KEY"; echo
curl -s $API/commerceapi/products/MUG-LOGO -H "Authorization: Bearer $TOKEN"; echo

# 4. Fill the cart, change a line, read it.
curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $TOKEN" \
  -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' \
  -d '{"sku": "TEE-BLK-M", "quantity": 2}'; echo
curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $TOKEN" \
  -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' \
  -d '{"sku": "MUG-LOGO", "quantity": 1}'; echo
curl -s -X PATCH $API/commerceapi/cart/lines/MUG-LOGO -H "Authorization: Bearer $TOKEN" \
  -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' -d '{"quantity": 3}'; echo
curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN" -H "X-Customer-Context: $CONTEXT"; echo

# 5. Later (a reload, an expired token): re-authenticate with the same id, proving it with the
#    previous token, and find the same cart.
TOKEN2=$(curl -s -X POST $API/commerceapi/authentication/ -H "X-Auth-Key: $KEY" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"anonymousAuthenticationRequest\": \"$ANON\"}" | json accessToken)
CONTEXT2=$(curl -s $API/commerceapi/authentication/customercontext \
  -H "Authorization: Bearer $TOKEN2" | json customerContext)
curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN2" -H "X-Customer-Context: $CONTEXT2"; echo

# 6. The shopper signs in as demo@example.com with a customer account of this API: the password
#    grant of the token service, through the storefront's sales channel.
SIGNIN=$(curl -s -X POST $API/oauth/token -d grant_type=password -d client_id=$CLIENT \
  -d username=demo@example.com --data-urlencode password@.demo-customer-password)
echo "$SIGNIN"  # {"access_token":"eyJ…","token_type":"Bearer","expires_in":900,"scope":"…","refresh_token":"rt_…"}
CTOKEN=$(echo "$SIGNIN" | json access_token); REFRESH=$(echo "$SIGNIN" | json refresh_token)
#    Or through an external identity provider: a local provider's token for "alice" stands in
#    for Entra ID, Okta, Auth0, Cognito or Keycloak (README, "Signing in locally"); the cart
#    and the order are then alice's, and step 11 (the token service's refresh) does not apply:
#    CTOKEN=$(.venv/bin/python manage.py idp_dev_token --private-key-file .demo-idp-key.pem \
#      --issuer https://idp.demo.local/ --audience commerceapi-demo --sub alice --email alice@example.com)
CCONTEXT=$(curl -s $API/commerceapi/authentication/customercontext \
  -H "Authorization: Bearer $CTOKEN" -H "X-Auth-Key: $KEY" | json customerContext)
curl -s $API/commerceapi/customer -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo

# 7. Move the anonymous cart into demo@example.com's cart: once, by the storefront's merge
#    policy, with a report per line. Repeating the call answers the same report with
#    "repeated": true.
curl -s -X POST $API/commerceapi/cart/migrate -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -d "{\"anonymousId\": \"$ANON\", \"anonymousToken\": \"$TOKEN2\"}"; echo
curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo
#    The anonymous session has ended: its token now gets 401 with code 2013 (re-authenticate),
#    and re-authenticating with that id gives a new one.
curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN2" -H "X-Customer-Context: $CONTEXT2"; echo
#    Errors are application/problem+json with a stable code (docs/errors.md):
curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -d '{"sku": "CAP-NAVY", "quantity": 9}'; echo

# 8. A current-customer token for the demo's loyalty app (docs/third-party-apps.md shows the
#    app's side): a JWT signed with that app's client secret, as text/plain.
curl -s "$API/customer/current.jwt?app_client_id=$APP" \
  -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo

# 9. Check out: the customer's cart becomes an order, once. The Idempotency-Key is the client's
#    own (one per checkout, the same on every retry); expectedTotal is the total the shopper saw.
TOTAL=$(curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" | json subtotal)
ORDER_KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')
ORDER=$(curl -s -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $ORDER_KEY" -d "{\"expectedTotal\": \"$TOTAL\"}")
echo "$ORDER"   # {"orderNumber":"DEMO-000001","status":"placed","paymentStatus":"pending",…}
#    A retry (a lost answer, a double click) gets the same answer, marked Idempotent-Replayed,
#    and orders nothing twice:
curl -s -i -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $ORDER_KEY" -d "{\"expectedTotal\": \"$TOTAL\"}"; echo
#    The cart is empty now, and the stock of TEE-BLK-M went down by what was ordered.
curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo
curl -s $API/commerceapi/products/TEE-BLK-M -H "X-Auth-Key: $KEY"; echo

# 10. The order, and the customer's orders (newest first).
NUMBER=$(echo "$ORDER" | json orderNumber)
curl -s $API/commerceapi/orders/$NUMBER -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT"; echo
curl -s $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo

# 11. A new access token from the refresh token (which is replaced: keep the new one), then sign
#     out everywhere, which ends every token of the customer: the refresh token is refused
#     (invalid_grant) and the access token gets 401.
REFRESHED=$(curl -s -X POST $API/oauth/token -d grant_type=refresh_token -d client_id=$CLIENT \
  -d refresh_token=$REFRESH)
echo "$REFRESHED"   # {"access_token":"eyJ…",…,"refresh_token":"rt_…"}: a new pair
CTOKEN=$(echo "$REFRESHED" | json access_token); REFRESH=$(echo "$REFRESHED" | json refresh_token)
CCONTEXT=$(curl -s $API/commerceapi/authentication/customercontext \
  -H "Authorization: Bearer $CTOKEN" -H "X-Auth-Key: $KEY" | json customerContext)
curl -s -X POST $API/commerceapi/customer/sign-out-everywhere \
  -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo
curl -s -X POST $API/oauth/token -d grant_type=refresh_token -d client_id=$CLIENT \
  -d refresh_token=$REFRESH; echo   # {"error":"invalid_grant",…}
curl -s $API/commerceapi/customer -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo
