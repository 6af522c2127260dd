# Kiln's everyday commands. `just --list` shows them.

# Train the quickstart model on the bundled digits dataset.
demo:
    cargo run --release --example quickstart

# The whole test suite (the README's test command).
test:
    ./scripts/test-all

# Backend parity: every op, layer and Keras training golden on every compiled backend
# against ndarray (and Keras); ends with a per-backend table. Needs ./scripts/setup for tch.
parity: setup
    CARGO_PROFILE_DEV_DEBUG=0 cargo run -p kiln-parity --features wgpu,tch --bin parity

# Kiln against the same MLP, CNN and LSTM written by hand with Burn (criterion), every engine;
# ends with a table of medians and ratios (docs/performance.md). Criterion's filter: `just bench mlp/flex`.
bench *ARGS: setup
    cargo bench -p kiln --bench engines --features wgpu,tch -- {{ARGS}}

# Kiln against Keras 3: MLP, CNN and LSTM on Fashion-MNIST, every compiled engine and Keras on
# JAX (CPU); prints one table (docs/performance.md). Options: --models, --engines, --epochs, ….
bench-keras *ARGS:
    ./scripts/bench-keras {{ARGS}}

# Install what the backends need (libtorch from PyPI, a Vulkan driver); idempotent.
setup:
    ./scripts/setup

# Formatting check and clippy with warnings as errors, every backend compiled in.
lint: setup
    cargo fmt --all -- --check
    CARGO_PROFILE_DEV_DEBUG=0 cargo clippy --workspace --all-targets --all-features -- -D warnings

# Regenerate the Keras reference data (needs the venv of tests/keras/README.md).
goldens:
    KERAS_BACKEND=jax python tests/keras/make_goldens.py
    KERAS_BACKEND=jax python tests/keras/make_text_goldens.py
