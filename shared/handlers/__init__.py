"""Step handlers: plain functions `(body, envelope, tx, deps) -> list[Message]`.

The same handler runs in the local pipeline, under the emulators and in the cloud;
`shared.delivery.run_step` gives each one idempotency, an outbox and publishing.
"""
