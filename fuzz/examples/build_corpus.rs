//! Writes the fuzzers' seed corpus (small valid files made by the crate itself, and
//! pickles assembled as Python writes them) into corpus/idx, corpus/weights and corpus/pkl:
//! `cargo run --example build_corpus` from fuzz/.

use std::io::Write;
use std::path::Path;

#[path = "../../src/weights/pickler.rs"]
mod pickler;

use flate2::{Compression, write::GzEncoder};
use mnist_explorer::idx::encode;
use mnist_explorer::layer::Layer;
use mnist_explorer::network::Network;
use mnist_explorer::weights;
use ndarray::{Array1, Array2};

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// A network of layer `sizes` with small varied weights.
fn network(sizes: &[usize]) -> Result<Network, Box<dyn std::error::Error>> {
    let layers = sizes
        .windows(2)
        .map(|pair| Layer {
            w: Array2::from_shape_fn((pair[0], pair[1]), |(i, j)| (i as f32 - j as f32) / 8.0),
            b: Array1::from_shape_fn(pair[1], |j| j as f32 / 16.0),
        })
        .collect();
    Ok(Network::new(layers)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let idx_dir = root.join("idx");
    std::fs::create_dir_all(&idx_dir)?;
    let pixels: Vec<u8> = (0..3 * 4 * 4).map(|i| (i * 37 % 256) as u8).collect();
    let images = encode(&[3, 4, 4], &pixels);
    let labels = encode(&[3], &[7, 2, 1]);
    std::fs::write(idx_dir.join("images"), &images)?;
    std::fs::write(idx_dir.join("images.gz"), gzip(&images)?)?;
    std::fs::write(idx_dir.join("labels"), &labels)?;
    std::fs::write(idx_dir.join("labels.gz"), gzip(&labels)?)?;
    // Two gzip members, as gunzip reads them.
    let mut members = gzip(&images[..9])?;
    members.extend(gzip(&images[9..])?);
    std::fs::write(idx_dir.join("images-two-members.gz"), members)?;

    let weights_dir = root.join("weights");
    std::fs::create_dir_all(&weights_dir)?;
    for sizes in [&[3, 2][..], &[4, 3, 2], &[2, 3, 3, 2]] {
        let name = sizes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("-");
        weights::save(&network(sizes)?, &weights_dir.join(format!("{name}.npz")))?;
    }
    // A file with the record `train` writes, so that its reader is fuzzed too.
    let mut details = serde_json::Map::new();
    details.insert("command".into(), "mnist-explorer train --norm l1".into());
    let record = weights::Record::new(mnist_explorer::normalize::NormMode::L1, details);
    let file = std::fs::File::create(weights_dir.join("4-3-2-recorded.npz"))?;
    weights::write_npz_recorded(&network(&[4, 3, 2])?, &record, file)?;
    let pkl_dir = root.join("pkl");
    std::fs::create_dir_all(&pkl_dir)?;
    let net = network(&[4, 3, 2])?;
    for protocol in 2..=4 {
        for (width, fortran) in [(pickler::Width::F32, true), (pickler::Width::F64, false)] {
            let name = format!("p{protocol}-{width:?}-{fortran}.pkl");
            std::fs::write(
                pkl_dir.join(name),
                pickle_of(&net, protocol, width, fortran),
            )?;
        }
    }
    println!("seeds written to {}", root.display());
    Ok(())
}

/// `net` pickled as the book's weights are: a dict of numpy arrays.
fn pickle_of(net: &Network, protocol: u8, width: pickler::Width, fortran: bool) -> Vec<u8> {
    let layers = net
        .layers()
        .iter()
        .map(|l| ((l.w.shape(), &l.w), (l.b.shape(), &l.b)));
    pickler::Pickler::new(protocol).layers(layers, width, fortran)
}
