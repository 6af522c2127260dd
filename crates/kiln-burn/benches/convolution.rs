//! Which convolution each CPU engine should run: the engine's own kernel (`conv2d`)
//! against the im2col formulation of the lowering, forward only (predict) and forward
//! plus backward (a training step), for the two convolutions of the Fashion-MNIST CNN
//! (batch 128: 3×3 over 1 channel into 32, 3×3 over 32 channels into 64).
//! `cargo bench -p kiln-burn --bench convolution`; the choice it supports is documented on
//! the lowering's `unfolds` (crates/kiln-burn/src/ops/conv.rs).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use kiln_burn::fast_paths::{ConvGeometry, conv2d_im2col};

const GEOMETRY: ConvGeometry = ConvGeometry {
    strides: [1, 1],
    padding: [(0, 0), (0, 0)],
    dilation: [1, 1],
};

type Conv = fn(Tensor<4>, Tensor<4>) -> Tensor<4>;

fn engine_kernel(x: Tensor<4>, k: Tensor<4>) -> Tensor<4> {
    conv2d(x, k, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
}

fn im2col(x: Tensor<4>, k: Tensor<4>) -> Tensor<4> {
    conv2d_im2col(x, k, &GEOMETRY)
}

fn convolutions(c: &mut Criterion) {
    #[allow(deprecated)] // ndarray is deprecated in favour of flex, and still one of Kiln's engines
    let engines = [("ndarray", Device::ndarray()), ("flex", Device::flex())];
    let shapes = [
        ("1x28x28_to_32", [128, 1, 28, 28], 32),
        ("32x13x13_to_64", [128, 32, 13, 13], 64),
    ];
    let kinds: [(&str, Conv); 2] = [("engine", engine_kernel), ("im2col", im2col)];
    for (engine, device) in &engines {
        for (shape_name, shape, filters) in shapes {
            let x = Tensor::<4>::random(shape, Distribution::Default, device);
            let k = Tensor::<4>::random([filters, shape[1], 3, 3], Distribution::Default, device);
            let mut group = c.benchmark_group(format!("conv/{engine}/{shape_name}"));
            group.sample_size(10);
            for (kind, conv) in kinds {
                group.bench_function(format!("{kind}/forward"), |b| {
                    b.iter(|| conv(x.clone(), k.clone()).sum().into_scalar::<f32>())
                });
                let xa = x.clone().autodiff().require_grad();
                let ka = k.clone().autodiff().require_grad();
                group.bench_function(format!("{kind}/forward_backward"), |b| {
                    b.iter(|| {
                        let grads = conv(xa.clone(), ka.clone()).sum().backward();
                        ka.grad(&grads).map(|g| g.sum().into_scalar::<f32>())
                    })
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, convolutions);
criterion_main!(benches);
