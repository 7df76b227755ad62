"""Sends a customer's journey to Hilo with an unmodified Segment or RudderStack SDK.

Usage: send_python.py segment|rudder HOST WRITE_KEY PREFIX
Exits non-zero if the SDK reports any error.
"""
import sys

sdk, host, write_key, prefix = sys.argv[1:5]
if sdk == "segment":
    from segment.analytics import Client
    client = Client(write_key, host=host, sync_mode=True, max_retries=1)
else:
    from rudderstack.analytics import Client
    client = Client(write_key, host=host, sync_mode=True, max_retries=1, gzip=True)

errors = []
client.on_error = lambda error, items: errors.append(repr(error))

anonymous = f"{prefix}-device"
user = f"{prefix}-user"
client.page(anonymous_id=anonymous, category="Shop", name="Strollers", properties={"path": "/strollers"})
client.screen(anonymous_id=anonymous, name="Cart")
client.identify(user_id=user, anonymous_id=anonymous,
                traits={"email": f"{prefix}@Example.com", "name": f"{prefix} name", "plan": "gold"})
client.track(user_id=user, event="Order Completed", properties={"total": 99.5, "currency": "EUR"})
client.group(user_id=user, group_id="company-1", traits={"name": "ACME"})
client.alias(previous_id=anonymous, user_id=user)
client.flush()
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
