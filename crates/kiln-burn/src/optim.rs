//! Keras 3's optimizer update rules (`keras/src/optimizers/{sgd,adam,rmsprop}.py`).

use crate::slot::FloatT;
use kiln_ir::OptimizerKind;

/// Applies one update to `param` given its gradient and its state `slots` (in the order
/// of [`OptimizerKind::slots`]); `step` counts from 1. Returns the new parameter.
pub(crate) fn update(
    kind: &OptimizerKind,
    param: FloatT,
    grad: FloatT,
    slots: &mut [FloatT],
    lr: f32,
    step: u64,
) -> FloatT {
    match *kind {
        OptimizerKind::Sgd { momentum, nesterov } => {
            if momentum == 0.0 {
                return param - grad.mul_scalar(lr);
            }
            let m = slots[0].clone().mul_scalar(momentum) - grad.clone().mul_scalar(lr);
            slots[0] = m.clone();
            if nesterov {
                param + m.mul_scalar(momentum) - grad.mul_scalar(lr)
            } else {
                param + m
            }
        }
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
        } => {
            let t = step as i32;
            let beta_1_power = beta_1.powi(t);
            let beta_2_power = beta_2.powi(t);
            let alpha = lr * (1.0 - beta_2_power).sqrt() / (1.0 - beta_1_power);
            let m = slots[0].clone() + (grad.clone() - slots[0].clone()).mul_scalar(1.0 - beta_1);
            let v = slots[1].clone() + (grad.square() - slots[1].clone()).mul_scalar(1.0 - beta_2);
            slots[0] = m.clone();
            slots[1] = v.clone();
            let v = if amsgrad {
                let v_hat = slots[2].clone().max_pair(v);
                slots[2] = v_hat.clone();
                v_hat
            } else {
                v
            };
            param - m.mul_scalar(alpha) / v.sqrt().add_scalar(epsilon)
        }
        OptimizerKind::Rmsprop {
            rho,
            momentum,
            epsilon,
            centered,
        } => {
            let velocity = slots[0].clone().mul_scalar(rho) + grad.clone().square().mul_scalar(1.0 - rho);
            slots[0] = velocity.clone();
            let denominator = if centered {
                let idx = if momentum > 0.0 { 2 } else { 1 };
                let average = slots[idx].clone().mul_scalar(rho) + grad.clone().mul_scalar(1.0 - rho);
                slots[idx] = average.clone();
                velocity - average.square() + epsilon
            } else {
                velocity.add_scalar(epsilon)
            };
            let increment = grad.mul_scalar(lr) / denominator.sqrt();
            if momentum > 0.0 {
                let m = slots[1].clone().mul_scalar(momentum) + increment;
                slots[1] = m.clone();
                param - m
            } else {
                param - increment
            }
        }
    }
}
