//! Dataset and deposition key photos: `bucket/key` paths (INPUT's folder is the bucket, its
//! parent the bucket namespace), downloads over HTTP from a server on 127.0.0.1, the dataset
//! fallback to the first tomogram's key images when no path is configured, and an error naming
//! a configured path that is not found.

use crate::common::{ids_with, read_json, Deposition};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

#[test]
fn deposition_photos_are_copied_and_dataset_photos_fall_back_to_the_tomogram() {
    let d = Deposition::new();
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    assert_eq!(
        std::fs::read(out.join("depositions_metadata/10999/Images/snapshot.png")).unwrap(),
        std::fs::read(
            d.input()
                .join("demo_source/key_photos/deposition_snapshot.png")
        )
        .unwrap()
    );
    let dep = read_json(&out.join("depositions_metadata/10999/deposition_metadata.json"));
    assert_eq!(
        dep["key_photos"]["snapshot"],
        "depositions_metadata/10999/Images/snapshot.png"
    );
    assert_eq!(
        dep["key_photos"]["thumbnail"],
        "depositions_metadata/10999/Images/thumbnail.png"
    );
    assert_eq!(
        std::fs::read(out.join("19999/Images/thumbnail.png")).unwrap(),
        std::fs::read(out.join(
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Images/100/key-photo-thumbnail.png"
        ))
        .unwrap()
    );
    let ds = read_json(&out.join("19999/dataset_metadata.json"));
    assert_eq!(ds["key_photos"]["snapshot"], "19999/Images/snapshot.png");
}

#[test]
fn a_missing_deposition_photo_fails_that_target_only() {
    let d = Deposition::new();
    std::fs::remove_file(
        d.input()
            .join("demo_source/key_photos/deposition_thumbnail.png"),
    )
    .unwrap();
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("deposition_keyphoto `thumbnail`: input/demo_source/key_photos/deposition_thumbnail.png was not found (read as a bucket under the folder holding INPUT: "),
        "{}",
        run.stderr
    );
    let failed = ids_with(&report, "failed");
    // The deposition metadata lists the photos, so it waits for them.
    assert_eq!(
        failed,
        vec![
            "depositions_metadata/10999",
            "depositions_metadata/10999/Images/thumbnail.png"
        ]
    );
    assert!(d
        .output()
        .join("depositions_metadata/10999/Images/snapshot.png")
        .exists());
}

/// A static file server on 127.0.0.1 (Python's http.server), stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs http.server");
        // Owned from here on, so that Drop stops it on every path.
        let server = Server { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("http.server did not start on port {port}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dataset_photos_are_downloaded_a_404_fails_and_no_path_falls_back() {
    let d = Deposition::new();
    let site = d.path("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("10999-l.gif"), b"GIF89a-not-really-a-gif").unwrap();
    let server = Server::start(&site);
    let base = format!("http://127.0.0.1:{}", server.port);
    let photos = |thumbnail: &str| {
        format!(
            "dataset_keyphotos:\n- sources:\n  - literal:\n      value:\n        snapshot: {base}/10999-l.gif\n        thumbnail: {thumbnail}\ndatasets:\n- metadata:"
        )
    };
    d.edit_config(
        "datasets:\n- metadata:",
        &photos(&format!("{base}/missing.gif")),
    );
    // A configured photo that is not there fails, naming it, instead of being replaced by a
    // tomogram image (the reference falls back; a nightly run would hide the broken link).
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "dataset_keyphoto `thumbnail`: {base}/missing.gif was not found"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        ids_with(&report, "failed"),
        vec!["19999", "19999/Images/thumbnail.png"]
    );
    let out = d.output();
    assert!(!out.join("19999/Images/thumbnail.png").exists());
    assert_eq!(
        std::fs::read(out.join("19999/Images/snapshot.gif")).unwrap(),
        b"GIF89a-not-really-a-gif"
    );

    // No path configured (`null`): the first tomogram's key image.
    d.edit_config(&format!("thumbnail: {base}/missing.gif"), "thumbnail: null");
    let (run, report) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read(out.join("19999/Images/thumbnail.png")).unwrap(),
        std::fs::read(out.join(
            "19999/TS_01/Reconstructions/VoxelSpacing13.480/Images/100/key-photo-thumbnail.png"
        ))
        .unwrap()
    );
    // (The snapshot's key holds its source entry, which the edit changed: rebuilt, same bytes.)
    assert_eq!(
        ids_with(&report, "built"),
        vec![
            "19999",
            "19999/Images/snapshot.gif",
            "19999/Images/thumbnail.png"
        ]
    );

    // Unchanged server: fresh. A new photo (new Last-Modified and length): rebuilt.
    let (_, again) = d.build(&[]);
    assert_eq!(again["summary"]["built"], 0, "{again}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(site.join("10999-l.gif"), b"GIF89a-a-new-photo").unwrap();
    let (_, changed) = d.build(&[]);
    assert_eq!(
        ids_with(&changed, "built"),
        vec!["19999", "19999/Images/snapshot.gif"]
    );
}

#[test]
fn a_photo_in_another_bucket_folder_is_read_beside_input() {
    let d = Deposition::new();
    // A real config's path: another bucket, mirrored as a folder beside INPUT.
    let photo = d.path("cryoetportal-rawdatasets-dev/deposition_key_photos/ds_snapshot.jpg");
    std::fs::create_dir_all(photo.parent().unwrap()).unwrap();
    std::fs::write(&photo, b"jpeg bytes").unwrap();
    d.edit_config(
        "datasets:\n- metadata:",
        "dataset_keyphotos:\n- sources:\n  - literal:\n      value:\n        snapshot: cryoetportal-rawdatasets-dev/deposition_key_photos/ds_snapshot.jpg\n        thumbnail: null\ndatasets:\n- metadata:",
    );
    let (run, _) = d.build(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = d.output();
    assert_eq!(
        std::fs::read(out.join("19999/Images/snapshot.jpg")).unwrap(),
        b"jpeg bytes"
    );
    let ds = read_json(&out.join("19999/dataset_metadata.json"));
    assert_eq!(ds["key_photos"]["snapshot"], "19999/Images/snapshot.jpg");
    // Its content is its key: an edit rebuilds the photo (and the dataset that lists it).
    let (_, again) = d.build(&[]);
    assert_eq!(again["summary"]["built"], 0, "{again}");
    std::fs::write(&photo, b"other jpeg").unwrap();
    let (_, changed) = d.build(&[]);
    assert_eq!(
        ids_with(&changed, "built"),
        vec!["19999", "19999/Images/snapshot.jpg"]
    );
}
