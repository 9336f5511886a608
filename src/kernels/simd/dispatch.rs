//! Which code path runs, and the only way into it: the [`Path`]s, their detection at run
//! time and [`PATH_VAR`], the [`Simd`] token that proves a path was checked, and the one
//! `match` that runs a [`Kernel`] on a path, through the only functions here compiled with
//! `#[target_feature]`.

use std::sync::OnceLock;

use super::LANES;
#[cfg(target_arch = "x86_64")]
use super::avx::Avx;
#[cfg(target_arch = "x86_64")]
use super::avx512::Avx512;
use super::vector::{Portable, Vector};

/// Which code path runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// AVX-512 F and BW, with AVX2 and FMA (Intel Skylake-SP and later servers, Ice Lake,
    /// AMD Zen 4): 16-float vectors.
    Avx512,
    /// AVX2 + FMA (x86-64 CPUs since about 2013).
    Avx2Fma,
    /// Plain Rust, vectorized only as far as the target's baseline allows.
    Portable,
}

/// Environment variable that picks a slower path than the detected one by its
/// [`Path::name`] (to compare paths, or to avoid AVX-512 where it lowers the clock).
pub const PATH_VAR: &str = "MNIST_EXPLORER_KERNEL";

impl Path {
    /// Every path, fastest first.
    pub const ALL: [Path; 3] = [Path::Avx512, Path::Avx2Fma, Path::Portable];

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && Path::Avx2Fma.supported()
            }
            // BMI1 (in every AVX2 CPU so far, but checked) clears the lowest mask bit in one
            // instruction, once per non-zero pixel.
            #[cfg(target_arch = "x86_64")]
            Path::Avx2Fma => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("bmi1")
            }
            Path::Portable => true,
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best path this CPU supports.
    pub fn detect() -> Self {
        Simd::detect().path()
    }

    /// The path for this process, chosen once: the detected one, or the one named by
    /// [`PATH_VAR`] if this CPU supports it (an unknown or unsupported name is ignored, so a
    /// setting meant for another machine cannot make this one fail).
    pub fn current() -> Self {
        Simd::current().path()
    }

    /// The proof that this CPU runs the path, if it does: what the kernels need to run it.
    pub(crate) fn simd(self) -> Option<Simd> {
        self.supported().then_some(Simd(self))
    }

    /// The path whose [`Path::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Path::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx512 => "avx512f+bw",
            Path::Avx2Fma => "avx2+fma",
            Path::Portable => "portable",
        }
    }

    /// Floats per vector; rows of W are padded to a multiple of it.
    pub fn lanes(self) -> usize {
        match self {
            Path::Avx512 => 16,
            Path::Avx2Fma | Path::Portable => LANES,
        }
    }
}

/// A code path this CPU was checked to run. Only [`Path::simd`], [`Simd::detect`] and
/// [`Simd::current`] make one, each after detection, so holding one proves that the path's
/// instructions exist here: [`Simd::run`] relies on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Simd(Path);

impl Simd {
    /// The best path this CPU supports.
    pub(crate) fn detect() -> Self {
        Path::ALL
            .into_iter()
            .find_map(Path::simd)
            .unwrap_or(Simd(Path::Portable))
    }

    /// The path for this process, chosen once (see [`Path::current`]).
    pub(crate) fn current() -> Self {
        static CURRENT: OnceLock<Simd> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            std::env::var(PATH_VAR)
                .ok()
                .and_then(|name| Path::from_name(&name))
                .and_then(Path::simd)
                .unwrap_or_else(Simd::detect)
        })
    }

    /// The path.
    pub(crate) fn path(self) -> Path {
        self.0
    }

    /// Runs `kernel` with this path's vector types: `W` the widest, `V` the 8-float one
    /// (`Avx512, Avx`; `Avx, Avx`; `Portable, Portable`), compiled for the path's
    /// instructions. The portable code is inlined into the caller.
    #[inline(always)]
    pub(crate) fn run<K: Kernel>(self, kernel: K) -> K::Output {
        self.dispatch::<false, K>(kernel)
    }

    /// [`Simd::run`], with the portable code in a function of its own too, as the vector
    /// paths' always are, for a kernel that must not be inlined into its caller.
    #[inline(always)]
    pub(crate) fn run_apart<K: Kernel>(self, kernel: K) -> K::Output {
        self.dispatch::<true, K>(kernel)
    }

    #[inline(always)]
    fn dispatch<const APART: bool, K: Kernel>(self, kernel: K) -> K::Output {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Simd` holds only a path this CPU supports (see the type), and
            // `Path::supported` checks every feature the function enables.
            Path::Avx512 => unsafe { avx512(kernel) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Path::Avx2Fma => unsafe { avx2_fma(kernel) },
            _ if APART => portable(kernel),
            _ => kernel.run::<Portable, Portable>(),
        }
    }
}

/// Code written once over the vector types, that [`Simd::run`] compiles once per path.
/// Implementations mark `run` `#[inline(always)]`, so that its body is compiled inside the
/// path's `#[target_feature]` function (a closure could not take type parameters).
pub(crate) trait Kernel {
    /// What the kernel returns.
    type Output;
    /// Runs with `W` the path's widest vector type and `V` its 8-float one.
    fn run<W: Vector, V: Vector>(self) -> Self::Output;
}

// The three bodies of a kernel. Never inlined: into a caller without the features they
// could not be anyway, and a kernel that runs another (a training task and its products)
// keeps the callee's loops in a function of their own, where its registers are allocated
// for them alone.

#[cfg(target_arch = "x86_64")]
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,bmi1")]
fn avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx512, Avx>()
}

#[cfg(target_arch = "x86_64")]
#[inline(never)]
#[target_feature(enable = "avx2,fma,bmi1")]
fn avx2_fma<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Avx, Avx>()
}

#[inline(never)]
fn portable<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<Portable, Portable>()
}
