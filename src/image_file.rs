//! Digits in ordinary image files (PNG, JPEG, BMP, GIF, PGM/PPM): decoded with the `image`
//! crate under limits that refuse a huge header before anything is allocated, turned gray,
//! inverted when the background is light (MNIST's ink is bright on black), cleared of faint
//! noise, then prepared as MNIST's digits were ([`crate::preprocess::prepare`]). Also the
//! way back: a 28x28 digit written as a PGM file that never replaces another.

use std::fs::OpenOptions;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageError, ImageReader, Limits, error::LimitErrorKind};
use thiserror::Error;

use crate::preprocess::{PrepareError, Prepared, prepare};

/// Largest file read: a photo of a digit is far smaller, and the whole file is held in
/// memory while it is decoded.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Longest side of an image decoded, in pixels (a phone photo is about 4,000).
pub const MAX_SIDE: u32 = 16_384;
/// Most memory the decoder may take, output image included (16384 x 16384 in 8-bit gray;
/// about 5,800 x 5,800 in 8-bit RGBA).
pub const MAX_DECODE_BYTES: u64 = 256 << 20;
/// A background is light, and the image is inverted, when the median of its border pixels is
/// above this level (mid-gray).
pub const LIGHT_BACKGROUND: u8 = 127;
/// Least difference between the background and the brightest ink, in levels of 255: below
/// it the picture is one flat gray, with no digit to find.
pub const MIN_CONTRAST: u8 = 32;
/// After stretching the background to 0 and the brightest ink to 1, levels below this are
/// set to 0: paper grain, JPEG ringing and scanner noise, which would otherwise widen the
/// ink's bounding box. A choice, not a figure from MNIST; a tenth leaves the gray edges of
/// MNIST's own strokes mostly in place.
pub const NOISE_FLOOR: f32 = 0.1;

/// Why an image file gives no digit.
#[derive(Debug, Error)]
pub enum ImageFileError {
    /// The file has no bytes.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("the file is {0} bytes; at most {MAX_FILE_BYTES} are read")]
    TooBig(u64),
    /// The bytes start like no format this reads.
    #[error("not an image in a format this reads (PNG, JPEG, BMP, GIF, PGM/PPM)")]
    UnknownFormat,
    /// The header asks for more than the limits allow.
    #[error("the image is too large to decode: {0} (at most {MAX_SIDE} a side)")]
    TooLarge(String),
    /// The file ends before the last of the pixels its header gives.
    #[error(
        "the file is cut short: it ends before the last of the {width}x{height} pixels its header gives"
    )]
    Truncated {
        /// Width the header gives.
        width: u32,
        /// Height the header gives.
        height: u32,
    },
    /// The image is corrupt or cut short.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// The image is one flat gray: no ink stands out from the background.
    #[error("no digit found: the image is one flat gray (contrast {0} of 255)")]
    NoInk(u8),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A gray picture, ink bright on a dark background, as MNIST has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InkImage {
    /// Levels, row-major: 0 background .. 255 full ink.
    pub levels: Vec<u8>,
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Whether the picture was inverted (its background was light).
    pub inverted: bool,
}

/// A digit read from an image file: the picture as found and the 28x28 image prepared from it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDigit {
    /// The picture, gray, ink bright.
    pub ink: InkImage,
    /// The network's 28x28 image.
    pub prepared: Prepared,
}

/// Reads the digit in an image file: [`read_bytes`] on the file's content.
///
/// # Errors
/// The file cannot be read, is too big, or [`read_bytes`] fails on it.
pub fn read(path: &Path) -> Result<FileDigit, ImageFileError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ImageFileError::TooBig(size));
    }
    read_bytes(&std::fs::read(path)?)
}

/// Decodes `bytes` as an image, makes its ink bright on black ([`ink_image`]) and prepares
/// it as MNIST's digits were.
///
/// # Errors
/// The bytes are empty, not an image, too large, corrupt or truncated, or hold no ink.
pub fn read_bytes(bytes: &[u8]) -> Result<FileDigit, ImageFileError> {
    let image = decode(bytes)?;
    let ink = ink_image(&image)?;
    let prepared = prepare(&ink.levels, ink.width, ink.height).map_err(|e| match e {
        // The contrast check passed but the noise floor took every pixel.
        PrepareError::Empty => ImageFileError::NoInk(0),
        e @ PrepareError::Shape { .. } => ImageFileError::Decode(e.to_string()),
    })?;
    Ok(FileDigit { ink, prepared })
}

/// Decodes `bytes`, recognizing the format by its content; a header larger than the limits
/// is refused before the image is allocated.
///
/// # Errors
/// The bytes are empty, not an image, too large, corrupt or truncated.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, ImageFileError> {
    if bytes.is_empty() {
        return Err(ImageFileError::Empty);
    }
    let reader = || ImageReader::new(Cursor::new(bytes)).with_guessed_format();
    if reader()?.format().is_none() {
        return Err(ImageFileError::UnknownFormat);
    }
    // The header alone first, so that the error can say what it asked for; the limits below
    // guard the decoding itself all the same.
    let (width, height) = reader()?.into_dimensions().map_err(decode_error)?;
    if width.max(height) > MAX_SIDE {
        return Err(ImageFileError::TooLarge(format!(
            "its header gives {width}x{height} pixels"
        )));
    }
    let mut reader = reader()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageFileError::Truncated { width, height }
        }
        other => decode_error(other),
    })
}

/// The fault behind a decoding error.
fn decode_error(e: ImageError) -> ImageFileError {
    match e {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => {
                ImageFileError::TooLarge(format!("a side over {MAX_SIDE} pixels"))
            }
            _ => ImageFileError::TooLarge(format!(
                "it needs more than {} MiB",
                MAX_DECODE_BYTES >> 20
            )),
        },
        other => ImageFileError::Decode(other.to_string()),
    }
}

/// The picture in gray with its ink bright: transparent parts count as white paper, a light
/// background (the median of the border pixels above [`LIGHT_BACKGROUND`]) is inverted, the
/// background level is stretched to 0 and the brightest ink to 255, and what stays under
/// [`NOISE_FLOOR`] becomes 0.
///
/// # Errors
/// [`ImageFileError::NoInk`] when the brightest ink is less than [`MIN_CONTRAST`] above the
/// background.
pub fn ink_image(image: &DynamicImage) -> Result<InkImage, ImageFileError> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let mut levels: Vec<u8> = if image.color().has_alpha() {
        // Ink drawn on a transparent sheet: put the sheet on white paper.
        image
            .to_luma_alpha8()
            .pixels()
            .map(|p| {
                let [l, a] = p.0;
                let (l, a) = (u32::from(l), u32::from(a));
                ((l * a + 255 * (255 - a) + 127) / 255) as u8
            })
            .collect()
    } else {
        image.to_luma8().into_raw()
    };
    let background = border_median(&levels, width, height);
    let inverted = background > LIGHT_BACKGROUND;
    if inverted {
        levels.iter_mut().for_each(|v| *v = 255 - *v);
    }
    let floor = if inverted {
        255 - background
    } else {
        background
    };
    let brightest = levels.iter().copied().max().unwrap_or(0);
    let contrast = brightest.saturating_sub(floor);
    if contrast < MIN_CONTRAST {
        return Err(ImageFileError::NoInk(contrast));
    }
    let span = f32::from(contrast);
    for v in &mut levels {
        let t = f32::from(v.saturating_sub(floor)) / span;
        *v = if t < NOISE_FLOOR {
            0
        } else {
            (t * 255.0).round().clamp(0.0, 255.0) as u8
        };
    }
    Ok(InkImage {
        levels,
        width,
        height,
        inverted,
    })
}

/// The median level of the pixels on the picture's edge: its background, unless the digit
/// covers most of the edge.
fn border_median(levels: &[u8], width: usize, height: usize) -> u8 {
    let mut counts = [0usize; 256];
    let mut total = 0usize;
    let mut count = |v: u8| {
        counts[usize::from(v)] += 1;
        total += 1;
    };
    for y in 0..height {
        let row = &levels[y * width..][..width];
        if y == 0 || y + 1 == height {
            row.iter().for_each(|&v| count(v));
        } else if let (Some(&first), Some(&last)) = (row.first(), row.last()) {
            count(first);
            if width > 1 {
                count(last);
            }
        }
    }
    let mut seen = 0;
    for (level, &n) in counts.iter().enumerate() {
        seen += n;
        if seen * 2 > total {
            return level as u8;
        }
    }
    0
}

/// Most names [`save_pgm`] tries before giving up.
const MAX_SAVE_TRIES: usize = 10_000;

/// Writes a `width` x `height` gray image as a binary PGM file (`P5`, max 255) in `dir`, named
/// `STEM-001.pgm`, `STEM-002.pgm`, ...: the first name that is free, created exclusively so
/// that no existing file, even one made a moment ago by someone else, is ever replaced.
/// Returns the path written.
///
/// # Errors
/// The folder cannot be written, or every name is taken.
pub fn save_pgm(
    dir: &Path,
    stem: &str,
    pixels: &[u8],
    width: usize,
    height: usize,
) -> Result<PathBuf, ImageFileError> {
    let mut bytes = format!("P5\n{width} {height}\n255\n").into_bytes();
    bytes.extend_from_slice(pixels);
    for n in 1..=MAX_SAVE_TRIES {
        let path = dir.join(format!("{stem}-{n:03}.pgm"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(&bytes)?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ImageFileError::Io(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "{stem}-001.pgm to {stem}-{MAX_SAVE_TRIES}.pgm all exist in {}",
            dir.display()
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageFormat, Luma, LumaA, RgbImage};

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    /// Dark ink (a 6x30 bar) on white paper, 60x60.
    fn paper() -> GrayImage {
        GrayImage::from_fn(60, 60, |x, y| {
            Luma([if (20..26).contains(&x) && (15..45).contains(&y) {
                10
            } else {
                250
            }])
        })
    }

    #[test]
    fn dark_ink_on_paper_is_inverted_and_stretched() {
        let ink = ink_image(&DynamicImage::ImageLuma8(paper())).unwrap();
        assert!(ink.inverted);
        assert_eq!(ink.levels[30 * 60 + 22], 255, "ink is full");
        assert_eq!(ink.levels[0], 0, "paper is black");
        let digit = read_bytes(&png(&DynamicImage::ImageLuma8(paper()))).unwrap();
        assert_eq!(digit.prepared.ink.height, 30);
        assert_eq!(
            digit.prepared.pixels.iter().filter(|&&v| v == 255).count(),
            4 * 20
        );
    }

    #[test]
    fn bright_ink_on_black_is_kept_and_noise_is_cleared() {
        // MNIST's own look, with faint noise that would widen the bounding box.
        let image = GrayImage::from_fn(40, 40, |x, y| {
            Luma([match (x, y) {
                (18..22, 8..32) => 255,
                (1, 1) | (38, 37) => 20,
                _ => 0,
            }])
        });
        let digit = read_bytes(&png(&DynamicImage::ImageLuma8(image))).unwrap();
        assert!(!digit.ink.inverted);
        assert_eq!(digit.ink.levels[40 + 1], 0, "noise under the floor is gone");
        assert_eq!(
            (digit.prepared.ink.width, digit.prepared.ink.height),
            (4, 24)
        );
    }

    #[test]
    fn transparent_sheets_count_as_white_paper() {
        // Black ink on a fully transparent background (whose color is black, as many
        // drawing programs leave it).
        let sheet = image::ImageBuffer::from_fn(30, 30, |x, _| {
            LumaA(if (12..16).contains(&x) {
                [0, 255]
            } else {
                [0, 0]
            })
        });
        let ink = ink_image(&DynamicImage::ImageLumaA8(sheet)).unwrap();
        assert!(ink.inverted);
        assert_eq!(ink.levels[5 * 30 + 13], 255);
        assert_eq!(ink.levels[5 * 30 + 2], 0);
    }

    #[test]
    fn a_flat_picture_has_no_digit() {
        let flat = RgbImage::from_pixel(20, 20, image::Rgb([200, 200, 200]));
        let err = read_bytes(&png(&DynamicImage::ImageRgb8(flat))).unwrap_err();
        assert!(matches!(err, ImageFileError::NoInk(0)), "{err}");
    }

    #[test]
    fn bad_bytes_are_named_faults_not_panics() {
        assert!(matches!(decode(&[]), Err(ImageFileError::Empty)));
        assert!(matches!(
            decode(b"hello, world"),
            Err(ImageFileError::UnknownFormat)
        ));
        let whole = png(&DynamicImage::ImageLuma8(paper()));
        // Cut in the signature, the header, the pixel data and the pixel data's end (a PNG
        // cut only in its closing chunk still decodes: every pixel is there).
        for cut in [8, 30, whole.len() / 2, whole.len() - 20] {
            let err = decode(&whole[..cut]).unwrap_err();
            assert!(
                matches!(
                    err,
                    ImageFileError::Decode(_) | ImageFileError::Truncated { .. }
                ),
                "{cut}: {err}"
            );
        }
        // A binary PGM whose pixels stop short says so, with the size its header gives.
        let mut short = b"P5\n28 28\n255\n".to_vec();
        short.extend([7; 100]);
        let err = decode(&short).unwrap_err();
        assert!(
            matches!(
                err,
                ImageFileError::Truncated {
                    width: 28,
                    height: 28
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("cut short"), "{err}");
        // A binary PGM header that asks for 100000 x 100000 pixels, with 4 bytes behind it.
        let huge = b"P5\n100000 100000\n255\n\0\0\0\0";
        let err = decode(huge).unwrap_err();
        assert!(matches!(err, ImageFileError::TooLarge(_)), "{err}");
        assert!(err.to_string().contains("100000x100000"), "{err}");
        // The same in a PNG: its signature, a header chunk, a few bytes of pixel data.
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            let mut crc = flate2::Crc::new();
            crc.update(&body);
            let mut bytes = (data.len() as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(&crc.sum().to_be_bytes());
            bytes
        };
        let mut header = 100_000u32.to_be_bytes().repeat(2);
        header.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &header));
        png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0, 0, 0, 0]));
        png.extend(chunk(b"IEND", &[]));
        let err = decode(&png).unwrap_err();
        assert!(err.to_string().contains("100000x100000"), "{err}");
    }

    #[test]
    fn border_median_ignores_the_middle() {
        let mut levels = vec![200u8; 25];
        levels[12] = 0;
        assert_eq!(border_median(&levels, 5, 5), 200);
        assert_eq!(border_median(&[7], 1, 1), 7);
        assert_eq!(border_median(&[1, 2, 3], 1, 3), 2);
        assert_eq!(border_median(&[], 0, 0), 0);
    }

    #[test]
    fn saving_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("digit-001.pgm");
        std::fs::write(&taken, b"mine").unwrap();
        let pixels: Vec<u8> = (0..784).map(|i| (i % 256) as u8).collect();
        let first = save_pgm(dir.path(), "digit", &pixels, 28, 28).unwrap();
        let second = save_pgm(dir.path(), "digit", &pixels, 28, 28).unwrap();
        assert_eq!(first, dir.path().join("digit-002.pgm"));
        assert_eq!(second, dir.path().join("digit-003.pgm"));
        assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
        // What was written reads back as the same image.
        let back = decode(&std::fs::read(&first).unwrap()).unwrap().to_luma8();
        assert_eq!((back.width(), back.height()), (28, 28));
        assert_eq!(back.into_raw(), pixels);
        let missing = dir.path().join("no such folder");
        assert!(save_pgm(&missing, "digit", &pixels, 28, 28).is_err());
    }
}
