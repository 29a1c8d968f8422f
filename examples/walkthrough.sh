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
#    and the order are then alice's, and step 12 (the token service's refresh) does not apply:
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

# 11. Server to server: a supplier and a payment provider, each with an API key in the ApiKey
#     header (docs/supplier-api.md, docs/payment-api.md). An operator creates the supplier and
#     the keys; each command prints key_id=<id> first and the key alone on the last line.
M=${MANAGE:-.venv/bin/python manage.py}
$M supplier_create --tenant demo --code demo-farm --name "Demo farm"
OUT=$($M apikey_create --tenant demo --surface supplier --supplier demo-farm)
SKEY_ID=$(echo "$OUT" | head -1 | cut -d= -f2); SKEY=$(echo "$OUT" | tail -1)
PKEY=$($M apikey_create --tenant demo --surface payment --provider demo-pay | tail -1)
#     The supplier creates a product and sets its stock; the storefront sells it at once.
curl -s -X PUT $API/supplier/products/JAM-APRICOT -H "ApiKey: $SKEY" \
  -H 'Content-Type: application/json' -d '{"name": "Apricot jam", "unitPrice": "4.50"}'; echo
curl -s -X POST $API/supplier/stock -H "ApiKey: $SKEY" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
  -d '{"items": [{"sku": "JAM-APRICOT", "quantity": 20, "mode": "set"}]}'; echo
curl -s $API/supplier/products -H "ApiKey: $SKEY"; echo
#     The customer buys two jars.
curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -d '{"sku": "JAM-APRICOT", "quantity": 2}'; echo
ORDER2=$(curl -s -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \
  -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" -d '{}')
NUMBER2=$(echo "$ORDER2" | json orderNumber); TOTAL2=$(echo "$ORDER2" | json total)
#     The payment provider reports the authorization and the capture: the order is paid
#     ("paymentStatus": "captured"). Sending an event again answers "alreadyProcessed": true.
for EVENT in authorized captured; do
  B="{\"type\": \"$EVENT\", \"amount\": \"$TOTAL2\", \"currency\": \"EUR\", "
  B="$B\"pspReference\": \"psp-$EVENT-$NUMBER2\", "
  B="$B\"occurredAt\": \"2026-12-03T12:00:00Z\"}"
  curl -s -X POST $API/payment/orders/$NUMBER2/events -H "ApiKey: $PKEY" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $EVENT-$NUMBER2" \
    -d "$B"; echo
done
curl -s $API/payment/orders/$NUMBER2 -H "ApiKey: $PKEY"; echo
#     Rolling the supplier's key: the old one keeps working for the overlap (60 s here), then
#     gets 401; revoking a key ends it at once, on every process.
NEW=$($M apikey_roll $SKEY_ID --old-key-expires-in 60)
SKEY2_ID=$(echo "$NEW" | head -1 | cut -d= -f2); SKEY2=$(echo "$NEW" | tail -1)
curl -s -o /dev/null -w '%{http_code}\n' $API/supplier/products -H "ApiKey: $SKEY"    # 200
curl -s -o /dev/null -w '%{http_code}\n' $API/supplier/products -H "ApiKey: $SKEY2"   # 200
$M apikey_revoke $SKEY2_ID
curl -s $API/supplier/products -H "ApiKey: $SKEY2"; echo   # 401, code 2100
$M apikey_list --tenant demo

# 12. A reseller partner (docs/surfaces.md): an operator creates it (its secret is shown once);
#     the partner generates a token, places an order for its own customer and lists it; a
#     second partner sees none of it (an empty list, and the order is a 404, code 7001).
P=$($M reseller_create --tenant demo --name "Partner $(date +%s)")
PID=$(echo "$P" | sed -n 's/^client_id=//p'); PSECRET=$(echo "$P" | sed -n 's/^client_secret=//p')
PTOKEN=$(curl -s -X POST $API/reseller/token -H 'Content-Type: application/json' \
  -d "{\"clientId\": \"$PID\", \"clientSecret\": \"$PSECRET\"}" | json accessToken)
PORDER=$(curl -s -X POST $API/reseller/orders -H "Authorization: Bearer $PTOKEN" \
  -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
  -d '{"customer": {"email": "bob@example.com", "name": "Bob", "externalReference": "CRM-42"},
       "lines": [{"sku": "MUG-LOGO", "quantity": 2}]}')
echo "$PORDER"   # {"orderNumber":"DEMO-000003",…,"customer":{…,"externalReference":"CRM-42"},…}
curl -s "$API/reseller/orders?externalReference=CRM-42" -H "Authorization: Bearer $PTOKEN"; echo
P2=$($M reseller_create --tenant demo --name "Partner $(date +%s)-2")
PID2=$(echo "$P2" | sed -n 's/^client_id=//p'); PSECRET2=$(echo "$P2" | sed -n 's/^client_secret=//p')
PTOKEN2=$(curl -s -X POST $API/reseller/token -u "$PID2:$PSECRET2" | json accessToken)
curl -s $API/reseller/orders -H "Authorization: Bearer $PTOKEN2"; echo
curl -s $API/reseller/orders/$(echo "$PORDER" | json orderNumber) \
  -H "Authorization: Bearer $PTOKEN2"; echo
#     The partner's token is refused on the storefront (401, code 2131).
curl -s $API/commerceapi/products -H "Authorization: Bearer $PTOKEN"; echo

# 13. A new access token from the refresh token (which is replaced: keep the new one), then sign
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
