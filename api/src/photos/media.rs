//! What the server learns from a photo's bytes: its type by content sniffing
//! (a file name or a declared MIME proves nothing), a 512-pixel JPEG
//! thumbnail, and the EXIF position and time kept as evidence next to the
//! check-in's own. Also the generators of real JPEGs with EXIF GPS tags that
//! the tests and the simulator upload.

use std::io::Cursor;

use chrono::{NaiveDate, NaiveDateTime};
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::{jpeg::JpegEncoder, png::PngEncoder, webp::WebPEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Rgb, RgbImage};

pub use fieldvisit_sync::photos::{ExifEvidence, PhotoType};

/// How many leading bytes `sniff` needs; shorter prefixes are never a photo.
pub const SNIFF_LEN: usize = 32;

/// The ISOBMFF brands of HEVC-coded HEIF images.
const HEVC_BRANDS: [&[u8]; 7] = [b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs"];
/// Generic HEIF brands count only as the major brand: AVIF (same container,
/// AV1 inside, not accepted) lists `mif1` among its compatible brands.
const GENERIC_BRANDS: [&[u8]; 2] = [b"mif1", b"msf1"];

/// Content sniffing of the first bytes (at least [`SNIFF_LEN`] needed; works
/// on a prefix): never trust a file name or a declared MIME.
pub fn sniff(prefix: &[u8]) -> Option<PhotoType> {
    if prefix.len() < SNIFF_LEN {
        return None;
    }
    // infer's PNG and WebP matchers look at only 4 bytes, so the whole
    // signatures are checked as well.
    if infer::image::is_jpeg(prefix) {
        Some(PhotoType::Jpeg)
    } else if infer::image::is_png(prefix) && prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PhotoType::Png)
    } else if infer::image::is_webp(prefix) && prefix.starts_with(b"RIFF") {
        Some(PhotoType::Webp)
    } else if is_heif(prefix) {
        Some(PhotoType::Heif)
    } else {
        None
    }
}

/// An `ftyp` box first, whose major brand, or one of whose compatible brands
/// within the prefix, is a HEIF image brand.
fn is_heif(prefix: &[u8]) -> bool {
    if &prefix[4..8] != b"ftyp" {
        return false;
    }
    let size = <[u8; 4]>::try_from(&prefix[..4]).map_or(0, u32::from_be_bytes);
    let end = usize::try_from(size).map_or(prefix.len(), |s| s.min(prefix.len()));
    let major = &prefix[8..12];
    // Bytes 12..16 are the minor version, not a brand.
    let mut compatible = prefix.get(16..end).unwrap_or_default().chunks_exact(4);
    HEVC_BRANDS.contains(&major) || GENERIC_BRANDS.contains(&major) || compatible.any(|b| HEVC_BRANDS.contains(&b))
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A type this function does not decode itself (HEIF: see `heif`).
    #[error("no thumbnail can be made of {} here", .0.mime())]
    Unsupported(PhotoType),
    /// The external HEIF converter is missing or cannot run: the photo is
    /// fine, the server is not set up for it.
    #[error("{0}")]
    Converter(String),
    #[error("the photo cannot be decoded: {0}")]
    Decode(String),
    #[error("the thumbnail cannot be encoded: {0}")]
    Encode(String),
}

/// JPEG quality of thumbnails: small files, no visible blocks at 512 px.
const THUMBNAIL_QUALITY: u8 = 80;

/// A JPEG thumbnail whose longer side is at most `max_side` (512 in
/// production) pixels, quality ~80; never upscales; honours the EXIF
/// orientation. JPEGs decode at a reduced scale (see [`decode_jpeg_scaled`]);
/// HEIF is not decoded here but by [`heif_to_jpeg`] first.
pub fn thumbnail(bytes: &[u8], kind: PhotoType, max_side: u32) -> Result<Vec<u8>, MediaError> {
    let max_side = max_side.max(1);
    let decode = |e: image::ImageError| MediaError::Decode(e.to_string());
    let (mut img, orientation) = match kind {
        PhotoType::Jpeg => (decode_jpeg_scaled(bytes, max_side)?, exif_orientation(bytes)),
        PhotoType::Png | PhotoType::Webp => {
            let format = if kind == PhotoType::Png { ImageFormat::Png } else { ImageFormat::WebP };
            // The reader's default limits (512 MiB per allocation) refuse
            // decompression bombs before allocating; real photos are far below them.
            let mut decoder = ImageReader::with_format(Cursor::new(bytes), format).into_decoder().map_err(decode)?;
            // A broken orientation tag is no reason to lose the thumbnail.
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            (DynamicImage::from_decoder(decoder).map_err(decode)?, orientation)
        }
        PhotoType::Heif => return Err(MediaError::Unsupported(kind)),
    };
    // Phones store portrait photos as landscape pixels plus an EXIF
    // orientation; a thumbnail lying on its side is no use to station staff.
    img.apply_orientation(orientation);
    shrink_and_encode(img, max_side)
}

/// The thumbnail of a JPEG that libheif made of a HEIF photo: already upright
/// (HEIF rotates by its own `irot` box; its EXIF orientation must be ignored).
pub fn thumbnail_of_converted(jpeg: &[u8], max_side: u32) -> Result<Vec<u8>, MediaError> {
    let max_side = max_side.max(1);
    shrink_and_encode(decode_jpeg_scaled(jpeg, max_side)?, max_side)
}

fn shrink_and_encode(mut img: DynamicImage, max_side: u32) -> Result<Vec<u8>, MediaError> {
    if img.width().max(img.height()) > max_side {
        img = img.thumbnail(max_side, max_side);
    }
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(flatten(img))
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY))
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    Ok(out)
}

/// The most a JPEG decode may allocate: a 50-megapixel photo at full scale
/// fits; a crafted header claiming 65535×65535 pixels is refused up front.
const JPEG_DECODE_LIMIT: usize = 256 * 1024 * 1024;

/// Decodes a JPEG at the smallest of the scales 1/8, 1/4, 1/2 and 1 that
/// still leaves the longer side at least `max_side`: the IDCT produces the
/// smaller image directly. A 12-megapixel photo becomes 1000×750 pixels
/// (2 MB) instead of 4000×3000 (36 MB), in a fraction of the time.
fn decode_jpeg_scaled(bytes: &[u8], max_side: u32) -> Result<DynamicImage, MediaError> {
    let broken = |e: jpeg_decoder::Error| MediaError::Decode(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(JPEG_DECODE_LIMIT);
    decoder.read_info().map_err(broken)?;
    // The decoder picks a scale at which at least one side reaches the
    // request; asking for max_side on both sides keeps the longer one there.
    let side = u16::try_from(max_side).unwrap_or(u16::MAX);
    let (width, height) = decoder.scale(side, side).map_err(broken)?;
    let pixels = decoder.decode().map_err(broken)?;
    let info = decoder.info().ok_or_else(|| MediaError::Decode("no JPEG header".into()))?;
    let (width, height) = (u32::from(width), u32::from(height));
    let short = || MediaError::Decode("the JPEG decoded to fewer pixels than its header promised".into());
    let img = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, pixels).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, pixels).ok_or_else(short)?)
        }
        // Big-endian 16-bit grey (lossless JPEG): the high byte is enough for a preview.
        jpeg_decoder::PixelFormat::L16 => {
            let grey: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, grey).ok_or_else(short)?)
        }
        // Print-shop CMYK; the plain conversion is close enough for a preview.
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    let channel = |c: u8| u8::try_from((255 - u16::from(c)) * (255 - k) / 255).unwrap_or(0);
                    [channel(p[0]), channel(p[1]), channel(p[2])]
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(short)?)
        }
    };
    Ok(img)
}

/// The EXIF orientation of a photo; none (or a broken tag) is upright.
fn exif_orientation(bytes: &[u8]) -> Orientation {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()
        .and_then(|exif| exif.get_field(Tag::Orientation, In::PRIMARY)?.value.get_uint(0))
        .and_then(|v| Orientation::from_exif(u8::try_from(v).ok()?))
        .unwrap_or(Orientation::NoTransforms)
}

/// JPEG has no alpha: transparent pixels go onto white, not the black that
/// dropping the channel would show.
fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0.map(u16::from);
        let over_white = |c| u8::try_from((c * a + 255 * (255 - a) + 127) / 255).unwrap_or(255);
        Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

/// GPS position (WGS84 as cameras record it; S/W negative) and
/// DateTimeOriginal (+ OffsetTimeOriginal when present) from a JPEG's (or
/// HEIF's, PNG's or WebP's: kamadak-exif reads all four containers) EXIF;
/// None when there is no EXIF.
pub fn exif_evidence(bytes: &[u8]) -> Option<ExifEvidence> {
    let mut cursor = Cursor::new(bytes);
    let exif = exif::Reader::new().read_from_container(&mut cursor).ok()?;
    let lat = coord(&exif, [Tag::GPSLatitude, Tag::GPSLatitudeRef], *b"NS", 90.0);
    let lon = coord(&exif, [Tag::GPSLongitude, Tag::GPSLongitudeRef], *b"EW", 180.0);
    // Half a position locates nothing, and phones without a fix write 0/0,
    // which no township in China is near.
    let (lat, lon) = match (lat, lon) {
        (Some(lat), Some(lon)) if lat != 0.0 || lon != 0.0 => (Some(lat), Some(lon)),
        _ => (None, None),
    };
    let (taken_at, offset_minutes) = taken_at(&exif).map_or((None, None), |(t, o)| (Some(t), o));
    Some(ExifEvidence { lat, lon, taken_at, offset_minutes })
}

/// Degrees from the degrees/minutes/seconds rationals and the hemisphere
/// reference; without a reference the sign is unknown, so there is no value.
fn coord(exif: &exif::Exif, tags: [Tag; 2], [pos, neg]: [u8; 2], max: f64) -> Option<f64> {
    let [value, reference] = tags.map(|tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value));
    let (Some(Value::Rational(parts)), Some(Value::Ascii(reference))) = (value, reference) else {
        return None;
    };
    let sign = match reference.first()?.first()?.to_ascii_uppercase() {
        c if c == pos => 1.0,
        c if c == neg => -1.0,
        _ => return None,
    };
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let units = [1.0, 60.0, 3600.0];
    let degrees: f64 = parts.iter().zip(units).map(|(p, u)| p.to_f64() / u).sum();
    // A zero denominator gives NaN or infinity.
    (degrees.is_finite() && degrees <= max).then_some(sign * degrees)
}

/// DateTimeOriginal with its subseconds, and OffsetTimeOriginal. Not DateTime
/// (0x0132): editing apps rewrite it, so it says nothing about the visit.
fn taken_at(exif: &exif::Exif) -> Option<(NaiveDateTime, Option<i32>)> {
    let ascii = |tag| match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v.first().map(Vec::as_slice),
        _ => None,
    };
    let mut dt = exif::DateTime::from_ascii(ascii(Tag::DateTimeOriginal)?).ok()?;
    if let Some(subsec) = ascii(Tag::SubSecTimeOriginal) {
        let _ = dt.parse_subsec(subsec);
    }
    if let Some(offset) = ascii(Tag::OffsetTimeOriginal) {
        let _ = dt.parse_offset(offset);
    }
    let date = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?;
    let (h, m, s) = (dt.hour.into(), dt.minute.into(), dt.second.into());
    let time = date.and_hms_nano_opt(h, m, s, dt.nanosecond.unwrap_or(0))?;
    Some((time, dt.offset.map(i32::from)))
}

/// For tests and the simulator: a real JPEG (width×height, a simple gradient)
/// carrying EXIF GPS tags (GPSLatitude/Ref, GPSLongitude/Ref) and
/// DateTimeOriginal, written with kamadak-exif's experimental Writer into an
/// APP1 segment right after SOI (whole seconds only). Panics on an empty
/// size or a position off the globe.
pub fn jpeg_with_exif(width: u32, height: u32, lat: f64, lon: f64, taken_at: NaiveDateTime) -> Vec<u8> {
    jpeg_with_fields(width, height, &evidence_fields(lat, lon, taken_at))
}

fn evidence_fields(lat: f64, lon: f64, taken_at: NaiveDateTime) -> Vec<Field> {
    assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0, "off the globe");
    let hemi = |v: f64, [pos, neg]: [&str; 2]| ascii(if v < 0.0 { neg } else { pos });
    let time = taken_at.format("%Y:%m:%d %H:%M:%S").to_string();
    vec![
        field(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0])),
        field(Tag::GPSLatitudeRef, hemi(lat, ["N", "S"])),
        field(Tag::GPSLatitude, Value::Rational(dms(lat))),
        field(Tag::GPSLongitudeRef, hemi(lon, ["E", "W"])),
        field(Tag::GPSLongitude, Value::Rational(dms(lon))),
        field(Tag::GPSMapDatum, ascii("WGS-84")),
        field(Tag::DateTimeOriginal, ascii(&time)),
    ]
}

fn field(tag: Tag, value: Value) -> Field {
    Field { tag, ifd_num: In::PRIMARY, value }
}

fn ascii(s: &str) -> Value {
    Value::Ascii(vec![s.as_bytes().to_vec()])
}

/// Degrees, minutes and seconds to the micro-arcsecond: the round trip stays
/// far below 1e-6° (1 µas ≈ 3e-10°) and the seconds' numerator within u32.
fn dms(degrees: f64) -> Vec<Rational> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "the caller checked |degrees| <= 180: the product is positive and below 2^40"
    )]
    let total = (degrees.abs() * 3_600_000_000.0).round() as u64;
    let parts = [total / 3_600_000_000, total / 60_000_000 % 60, total % 60_000_000];
    let part = |(num, denom)| Rational { num: u32::try_from(num).expect("small"), denom };
    parts.into_iter().zip([1, 1, 1_000_000]).map(part).collect()
}

fn jpeg_with_fields(width: u32, height: u32, fields: &[Field]) -> Vec<u8> {
    let mut writer = exif::experimental::Writer::new();
    for field in fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("valid fields");
    let tiff = tiff.into_inner();
    let plain = sample_image(PhotoType::Jpeg, width, height);
    // The segment length counts itself (2 bytes) and the "Exif\0\0" header.
    let len = u16::try_from(2 + 6 + tiff.len()).expect("the EXIF fits in one APP1 segment");
    let app1: &[&[u8]] = &[&[0xFF, 0xE1], &len.to_be_bytes(), b"Exif\0\0", &tiff];
    // SOI, the APP1 segment, then the rest of the plain JPEG.
    [&plain[..2], &app1.concat(), &plain[2..]].concat()
}

/// For tests: a plain JPEG / PNG / WebP (lossless, the only WebP encoder
/// built in) of the given size without EXIF. For `Heif` it is only a 40-byte
/// `ftyp` header that sniffs as HEIC and decodes as nothing (nothing here
/// can encode HEVC): enough for the upload and thumbnail-refusal paths.
pub fn sample_image(kind: PhotoType, width: u32, height: u32) -> Vec<u8> {
    let ramp = |v: u32, size: u32| {
        let span = u64::from(size.saturating_sub(1).max(1));
        u8::try_from(u64::from(v) * 255 / span).unwrap_or(255)
    };
    let pixel = |x, y| Rgb([ramp(x, width), ramp(y, height), 128]);
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, pixel));
    let mut out = Vec::new();
    match kind {
        PhotoType::Jpeg => img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85)),
        PhotoType::Png => img.write_with_encoder(PngEncoder::new(&mut out)),
        PhotoType::Webp => img.write_with_encoder(WebPEncoder::new_lossless(&mut out)),
        PhotoType::Heif => {
            out.extend_from_slice(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic");
            out.extend_from_slice(b"\0\0\0\x10free\0\0\0\0\0\0\0\0");
            Ok(())
        }
    }
    .expect("encoding a non-empty in-memory gradient cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::PhotoType::{Heif, Jpeg, Png, Webp};
    use super::*;

    const ALL: [PhotoType; 4] = [Jpeg, Png, Webp, Heif];

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    /// The size of the thumbnail, which must be a JPEG.
    fn thumb(bytes: &[u8], kind: PhotoType) -> (u32, u32) {
        let jpeg = thumbnail(bytes, kind, 512).unwrap();
        assert_eq!(sniff(&jpeg), Some(Jpeg));
        let img = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn sniffs_by_content_only() {
        for kind in ALL {
            let bytes = sample_image(kind, 40, 30);
            assert_eq!(sniff(&bytes), Some(kind), "{kind:?}");
            assert_eq!(sniff(&bytes[..SNIFF_LEN]), Some(kind), "{kind:?} prefix");
        }
        // A text file named photo.jpg, a truncated JPEG, garbage, an AVIF.
        assert_eq!(sniff(b"Notes from the village committee, 2 Nov.\n"), None);
        assert_eq!(sniff(&sample_image(Jpeg, 40, 30)[..10]), None);
        assert_eq!(sniff(&[0x5A; 64]), None);
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miafMA1B\0\0\0\0";
        assert_eq!(sniff(avif), None);
        let generic = b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic\0\0\0\x08free";
        assert_eq!(sniff(generic), Some(Heif));
    }

    #[test]
    fn mime_names_and_serde() {
        assert_eq!(PhotoType::from_mime("IMAGE/JPG"), Some(Jpeg));
        assert_eq!(PhotoType::from_mime("image/heif"), Some(Heif));
        assert_eq!(PhotoType::from_mime("text/plain"), None);
        assert_eq!(serde_json::to_string(&Heif).unwrap(), r#""image/heic""#);
        let back: PhotoType = serde_json::from_str(r#""image/jpg""#).unwrap();
        assert_eq!(back, Jpeg);
        assert!(serde_json::from_str::<PhotoType>(r#""image/gif""#).is_err());
    }

    #[test]
    fn jpegs_decode_at_the_smallest_scale_that_keeps_512_pixels() {
        // 4000 wide: 1/4 gives 1000, 1/8 would give 500, under 512.
        let img = decode_jpeg_scaled(&sample_image(Jpeg, 4000, 3000), 512).unwrap();
        assert_eq!((img.width(), img.height()), (1000, 750));
        // Portrait: the longer side is what counts.
        let img = decode_jpeg_scaled(&sample_image(Jpeg, 3000, 4000), 512).unwrap();
        assert_eq!((img.width(), img.height()), (750, 1000));
        // Small photos decode whole.
        let img = decode_jpeg_scaled(&sample_image(Jpeg, 300, 200), 512).unwrap();
        assert_eq!((img.width(), img.height()), (300, 200));
        // Greyscale JPEGs too.
        let mut grey = Vec::new();
        DynamicImage::ImageLuma8(GrayImage::from_fn(1024, 768, |x, _| image::Luma([u8::try_from(x % 256).unwrap()])))
            .write_with_encoder(JpegEncoder::new_with_quality(&mut grey, 85))
            .unwrap();
        assert_eq!(thumb(&grey, Jpeg), (512, 384));
        // A cut-off header is an error, not a panic.
        let big = sample_image(Jpeg, 2000, 1500);
        assert!(matches!(thumbnail(&big[..20], Jpeg, 512), Err(MediaError::Decode(_))));
    }

    #[test]
    fn thumbnails_shrink_but_never_grow() {
        let big = sample_image(Jpeg, 2000, 1500);
        assert_eq!(thumb(&big, Jpeg), (512, 384));
        assert_eq!(thumb(&sample_image(Png, 300, 200), Png), (300, 200));
        assert_eq!(thumb(&sample_image(Webp, 600, 800), Webp), (384, 512));
        let heif = thumbnail(&sample_image(Heif, 1, 1), Heif, 512);
        assert!(matches!(heif, Err(MediaError::Unsupported(Heif))));
        // Declared as PNG but is a JPEG: an error, not a panic.
        let wrong = thumbnail(&big, Png, 512);
        assert!(matches!(wrong, Err(MediaError::Decode(_))));
    }

    #[test]
    fn thumbnail_follows_exif_orientation() {
        // Orientation 6: the phone was held upright, the pixels lie on their side.
        let turned = field(Tag::Orientation, Value::Short(vec![6]));
        let jpeg = jpeg_with_fields(800, 400, &[turned]);
        assert_eq!(thumb(&jpeg, Jpeg), (256, 512));
    }

    #[test]
    fn exif_round_trip() {
        let jpeg = jpeg_with_exif(640, 480, 35.1523, 112.1311, at("2026-11-02T10:15:00"));
        assert_eq!(thumb(&jpeg, Jpeg), (512, 384));
        let ev = exif_evidence(&jpeg).unwrap();
        assert!((ev.lat.unwrap() - 35.1523).abs() < 1e-6, "{ev:?}");
        assert!((ev.lon.unwrap() - 112.1311).abs() < 1e-6, "{ev:?}");
        assert_eq!(ev.taken_at, Some(at("2026-11-02T10:15:00")));
        assert_eq!(ev.offset_minutes, None);

        let south_west = jpeg_with_exif(64, 48, -33.856_784, -70.648_271, at("2026-01-31T23:59:59"));
        let ev = exif_evidence(&south_west).unwrap();
        assert!((ev.lat.unwrap() + 33.856_784).abs() < 1e-6, "{ev:?}");
        assert!((ev.lon.unwrap() + 70.648_271).abs() < 1e-6, "{ev:?}");
        assert_eq!(ev.taken_at, Some(at("2026-01-31T23:59:59")));
    }

    #[test]
    fn exif_offset_and_absence() {
        let mut fields = evidence_fields(35.0, 112.0, at("2026-11-02T10:15:00"));
        fields.push(field(Tag::OffsetTimeOriginal, ascii("+08:00")));
        let ev = exif_evidence(&jpeg_with_fields(32, 32, &fields)).unwrap();
        assert_eq!(ev.offset_minutes, Some(480));

        // EXIF without GPS or time: evidence of nothing, but not "no EXIF".
        let upright = field(Tag::Orientation, Value::Short(vec![1]));
        let ev = exif_evidence(&jpeg_with_fields(32, 32, &[upright])).unwrap();
        assert!(ev.lat.is_none() && ev.lon.is_none() && ev.taken_at.is_none(), "{ev:?}");

        for kind in ALL {
            assert_eq!(exif_evidence(&sample_image(kind, 32, 32)), None, "{kind:?}");
        }
        assert_eq!(exif_evidence(b"not a photo at all"), None);
    }
}
