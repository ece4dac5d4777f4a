//! Key-image overlays (spec §9 step 2): the demo's visualization-default membrane mask is drawn
//! in its §10.2 colour, and only the default annotations' data rebuild key images.

use crate::common::{ids_with, read_json, Deposition};
use cryoet_ingest::key_image::MASK_ALPHA;
use cryoet_ingest::palette::{to_byte, Palette};
use cryoet_ingest::volume::KeySlab;
use std::path::Path;

const VS: &str = "19999/TS_01/Reconstructions/VoxelSpacing13.480";

/// The colour of `file` by the §10.2 rule, over the run's written annotation JSONs.
fn layer_color(out: &Path, run: &str, file: &str) -> [u8; 3] {
    let mut jsons = Vec::new();
    for vs in std::fs::read_dir(out.join(run).join("Reconstructions")).unwrap() {
        let ann = vs.unwrap().path().join("Annotations");
        let Ok(ids) = std::fs::read_dir(&ann) else {
            continue;
        };
        for id in ids {
            for f in std::fs::read_dir(id.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|e| e == "json") {
                    jsons.push(p);
                }
            }
        }
    }
    jsons.sort();
    let mut palette = Palette::default();
    for p in jsons {
        let meta = read_json(&p);
        for f in meta["files"].as_array().unwrap() {
            let shape = f["shape"].as_str().unwrap();
            let kept = [
                "SegmentationMask",
                "Point",
                "OrientedPoint",
                "TriangularMesh",
            ];
            if kept.contains(&shape)
                && ["zarr", "ndjson", "glb"].contains(&f["format"].as_str().unwrap())
            {
                let c = palette.next(&meta, shape, 1)[0];
                if f["path"] == file {
                    return [to_byte(c[0]), to_byte(c[1]), to_byte(c[2])];
                }
            }
        }
    }
    panic!("{file} has no colour");
}

fn decode_rgb(path: &Path) -> (usize, usize, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width as usize, info.height as usize, buf)
}

#[test]
fn keyimage_overlays_draw_the_default_mask_in_its_colour() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    let mask_zarr = format!("{VS}/Annotations/100/membrane-1.0_segmentationmask.zarr");
    let color = layer_color(&out, "19999/TS_01", &mask_zarr);

    let tomo = KeySlab::from_mrc(
        &std::fs::read(out.join(format!("{VS}/Tomograms/100/TS_01.mrc"))).unwrap(),
        "tomogram",
    )
    .unwrap();
    let gray = tomo.preview();
    let mask = KeySlab::from_mrc(
        &std::fs::read(out.join(mask_zarr.replace(".zarr", ".mrc"))).unwrap(),
        "mask",
    )
    .unwrap();
    let (w, h, img) = decode_rgb(&out.join(format!("{VS}/Images/100/key-photo-original.png")));
    assert_eq!((w, h), (gray.width, gray.height));
    let (mut in_mask, mut blended, mut outside, mut plain) = (0, 0, 0, 0);
    for i in 0..w * h {
        let g = f64::from(gray.data[i]);
        let px = &img[3 * i..3 * i + 3];
        if mask.sum[i] > 0.0 {
            in_mask += 1;
            let want: Vec<u8> = color
                .iter()
                .map(|&c| (g * (1.0 - MASK_ALPHA) + f64::from(c) * MASK_ALPHA).round() as u8)
                .collect();
            blended += usize::from(px == want.as_slice());
        } else {
            outside += 1;
            plain += usize::from(px == [gray.data[i]; 3]);
        }
    }
    assert!(in_mask > 0 && outside > 0);

    // The default ribosome points in the slab are drawn at their centres in their colour.
    let points_file = format!("{VS}/Annotations/103/cytosolic_ribosome-1.0_point.ndjson");
    let pcolor = layer_color(&out, "19999/TS_01", &points_file);
    assert_ne!(pcolor, color);
    let (mut seen, mut drawn) = (0, 0);
    let text = std::fs::read_to_string(out.join(&points_file)).unwrap();
    let header = cryoet_ingest::formats::mrc::read_header(
        &std::fs::read(out.join(format!("{VS}/Tomograms/100/TS_01.mrc"))).unwrap(),
        "tomogram",
    )
    .unwrap();
    let (z_min, z_max) = cryoet_ingest::key_image::slab_bounds(header.shape_zyx[0]);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let loc = &v["location"];
        let (x, y, z) = (
            loc["x"].as_f64().unwrap(),
            loc["y"].as_f64().unwrap(),
            loc["z"].as_f64().unwrap(),
        );
        let (xi, yi) = (x.round() as usize, y.round() as usize);
        if xi >= w || yi >= h {
            continue;
        }
        let i = yi * w + xi;
        let px = &img[3 * i..3 * i + 3];
        let g = f64::from(gray.data[i]);
        let base: Vec<f64> = color
            .iter()
            .map(|&c| {
                if mask.sum[i] > 0.0 {
                    g * (1.0 - MASK_ALPHA) + f64::from(c) * MASK_ALPHA
                } else {
                    g
                }
            })
            .collect();
        let want: Vec<u8> = pcolor
            .iter()
            .zip(&base)
            .map(|(&c, &b)| (b * 0.2 + f64::from(c) * 0.8).round() as u8)
            .collect();
        if (z_min as f64) <= z && z <= z_max as f64 {
            seen += 1;
            drawn += usize::from(px == want.as_slice());
        }
    }
    assert!(seen > 0, "no ribosome in the slab");
    assert!(drawn * 10 >= seen * 8, "{drawn} of {seen} points drawn");
    // Point markers (the default ribosomes) cover a few pixels of each.
    assert!(
        blended * 10 >= in_mask * 8,
        "{blended} of {in_mask} mask pixels blended"
    );
    assert!(
        plain * 10 >= outside * 8,
        "{plain} of {outside} other pixels gray"
    );
}

#[test]
fn keyimage_rebuilds_only_for_default_annotations() {
    let d = Deposition::new();
    assert_eq!(d.build(&[]).0.code, 0);
    let images = |report: &serde_json::Value| -> Vec<String> {
        ids_with(report, "built")
            .into_iter()
            .filter(|id| id.contains("/Images/"))
            .collect()
    };
    // The non-default vesicle mask changes: its target rebuilds, the key images do not.
    d.edit_config(
        "is_visualization_default: false\n      mask_label: 2",
        "is_visualization_default: false\n      mask_label: 1",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        ids_with(&report, "built")
            .iter()
            .any(|id| id.contains("/Annotations/101/")),
        "{report}"
    );
    assert_eq!(images(&report), Vec::<String>::new());
    // The default membrane mask changes: every key image of its voxel spacing rebuilds.
    d.edit_config(
        "is_visualization_default: true\n      mask_label: 1",
        "is_visualization_default: true\n      mask_label: 2",
    );
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let rebuilt = images(&report);
    assert!(
        rebuilt.iter().any(|id| id.starts_with("19999/TS_01/")),
        "{rebuilt:?}"
    );
}
