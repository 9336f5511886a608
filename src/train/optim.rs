//! The update rules: plain SGD, momentum and Adam, applied to a run of weights and their
//! gradients.

use super::config::Optimizer;

/// Momentum coefficient of the momentum optimizer (the book's value).
pub const MOMENTUM: f32 = 0.9;
/// Adam's decay rate of the first moment (Kingma & Ba 2015, their default).
pub const ADAM_BETA1: f32 = 0.9;
/// Adam's decay rate of the second moment (their default).
pub const ADAM_BETA2: f32 = 0.999;
/// Adam's epsilon (their default).
pub const ADAM_EPSILON: f32 = 1e-8;

/// The optimizer's numbers for one update.
#[derive(Debug, Clone, Copy)]
pub(super) struct Update {
    pub(super) optimizer: Optimizer,
    pub(super) lr: f32,
    /// Adam's bias corrections 1 / (1 - beta^t).
    pub(super) c1: f32,
    pub(super) c2: f32,
}

impl Update {
    /// The numbers for step `t` (counted from 1) of `optimizer` at learning rate `lr`.
    pub(super) fn new(optimizer: Optimizer, lr: f32, t: u64) -> Self {
        let t = t as f64;
        // Adam's bias corrections, in f64 so that they stay exact-ish for large t.
        Self {
            optimizer,
            lr,
            c1: (1.0 / (1.0 - f64::from(ADAM_BETA1).powf(t))) as f32,
            c2: (1.0 / (1.0 - f64::from(ADAM_BETA2).powf(t))) as f32,
        }
    }
}

/// Applies one optimizer step to `w` with gradient `g` and its states.
#[inline(always)]
pub(super) fn apply(u: Update, w: &mut [f32], g: &[f32], mom: &mut [f32], vel: &mut [f32]) {
    match u.optimizer {
        Optimizer::Sgd => sgd(w, g, u.lr),
        Optimizer::Momentum => momentum(w, g, mom, u.lr),
        Optimizer::Adam => adam(w, g, mom, vel, u.lr, u.c1, u.c2),
    }
}

#[inline(always)]
fn sgd(w: &mut [f32], g: &[f32], lr: f32) {
    for (w, &g) in w.iter_mut().zip(g) {
        *w -= lr * g;
    }
}

#[inline(always)]
fn momentum(w: &mut [f32], g: &[f32], v: &mut [f32], lr: f32) {
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
        *v = MOMENTUM * *v - lr * g;
        *w += *v;
    }
}

/// Adam as in the paper's Algorithm 1: m and v moving averages, bias-corrected by `c1` and
/// `c2` (1 / (1 - beta^t)), step lr · m̂ / (sqrt(v̂) + epsilon).
#[inline(always)]
fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32, c1: f32, c2: f32) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
        *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
        *w -= lr * (*m * c1) / ((*v * c2).sqrt() + ADAM_EPSILON);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimizers_follow_their_formulas() {
        // One weight, gradient g fixed: check one update by hand.
        let (w0, g, lr) = (0.5f32, 0.2f32, 0.1f32);
        let mut w = [w0];
        sgd(&mut w, &[g], lr);
        assert_eq!(w[0], w0 - lr * g);
        let (mut w, mut v) = ([w0], [0.0]);
        momentum(&mut w, &[g], &mut v, lr);
        momentum(&mut w, &[g], &mut v, lr);
        assert!((w[0] - (w0 - lr * g - (MOMENTUM * lr * g + lr * g))).abs() < 1e-7);
        // Adam's first step moves every weight by lr (times sign g), whatever |g|.
        let (mut w, mut m, mut v) = ([w0, w0], [0.0; 2], [0.0; 2]);
        let c1 = 1.0 / (1.0 - ADAM_BETA1);
        let c2 = 1.0 / (1.0 - ADAM_BETA2);
        adam(&mut w, &[g, -30.0], &mut m, &mut v, lr, c1, c2);
        assert!((w[0] - (w0 - lr)).abs() < 1e-5, "{}", w[0]);
        assert!((w[1] - (w0 + lr)).abs() < 1e-5, "{}", w[1]);
    }
}
