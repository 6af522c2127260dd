# Kiln's everyday commands. `just --list` shows them.

# Train the quickstart model on the bundled digits dataset.
demo:
    cargo run --release --example quickstart

# The whole test suite (the README's test command).
test:
    ./scripts/test-all

# Formatting check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate the Keras reference data (needs the venv of tests/keras/README.md).
goldens:
    KERAS_BACKEND=jax python tests/keras/make_goldens.py
    KERAS_BACKEND=jax python tests/keras/make_text_goldens.py
