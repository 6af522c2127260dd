//! Remote devices on loopback: `kiln serve` processes, data-parallel training over them,
//! a server killed mid-training (a second device's, and the main device's with a resume
//! from the last checkpoint), and a hostile client. Every server a test starts is
//! killed when the test ends (`Server`'s `Drop`), and every wait is bounded.

use kiln::distribution::DataParallel;
use kiln::prelude::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `kiln serve` process on a free loopback port.
struct Server {
    child: Child,
    /// `ws://127.0.0.1:PORT`.
    url: String,
}

impl Server {
    /// Starts `kiln serve --device DEVICE --listen 127.0.0.1:0` and waits (at most 60 s)
    /// for the address it prints.
    fn start(device: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["serve", "--device", device, "--listen", "127.0.0.1:0"])
            .env_remove("KILN_REMOTE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kiln serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split(" on ").nth(1).filter(|u| u.starts_with("ws://")) {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => Server { child, url },
            Err(_) => {
                let _ = child.kill();
                panic!("kiln serve printed no address within 60 s");
            }
        }
    }

    fn device(&self) -> String {
        format!("remote:{}", self.url)
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `f` on a thread and waits at most `seconds` for it.
fn within<T: Send + 'static>(seconds: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(seconds))
        .unwrap_or_else(|_| panic!("{what} did not finish within {seconds} s"))
}

/// A small classifier with dropout, its weights drawn from a fixed seed.
fn classifier() -> Model {
    kiln::set_random_seed(7);
    let mut model = Sequential::new();
    model.add(Dense::new(16).activation("relu").input_shape([6])).unwrap();
    model.add(Dropout::new(0.25)).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
}

fn data() -> (Tensor, Tensor) {
    let n = 30;
    let x: Vec<f32> = (0..n * 6).map(|i| ((i * 37 % 17) as f32 / 17.0) - 0.5).collect();
    let y: Vec<i32> = (0..n as i32).map(|i| i % 3).collect();
    (Tensor::from_f32(x, [n, 6]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

/// Trains `model` for two epochs of batches of 8 (the last batch has 6 rows), without
/// shuffling; returns the losses and the weights.
fn train(mut model: Model, distribution: Option<DataParallel>) -> (Vec<f64>, Vec<Tensor>, Tensor) {
    model.set_distribution(distribution).unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    let (x, y) = data();
    let options = FitOptions::new().epochs(2).batch_size(8).shuffle(false).verbose(0);
    let history = model.fit(&x, &y, options).unwrap();
    let predictions = model.predict(&x).unwrap();
    (
        history.get("loss").unwrap().to_vec(),
        model.get_weights().unwrap(),
        predictions,
    )
}

fn assert_close(what: &str, a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tolerance * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

/// Dense → BatchNormalization → Dropout → Dense: the parts of a split batch share the
/// normalization's batch statistics.
fn normalized_classifier() -> Model {
    kiln::set_random_seed(9);
    let mut model = Sequential::new();
    model.add(Dense::new(16).use_bias(false).input_shape([6])).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(Activation::new("relu")).unwrap();
    model.add(Dropout::new(0.25)).unwrap();
    model.add(Dense::new(3).activation("softmax")).unwrap();
    model
}

fn losses(l: &[f64]) -> Vec<f32> {
    l.iter().map(|&v| v as f32).collect()
}

#[test]
fn data_parallel_over_two_servers_equals_one_local_device() {
    let (a, b) = (Server::start("flex"), Server::start("flex"));
    for build in [classifier, normalized_classifier] {
        let local = train(build(), None);
        let devices = [a.device(), b.device()];
        let parallel = within(120, "training over two servers", move || {
            train(build(), Some(DataParallel::new(devices).unwrap()))
        });
        assert_close("loss", &losses(&parallel.0), &losses(&local.0), 1e-5);
        for (w, v) in parallel.1.iter().zip(&local.1) {
            assert_close("weight", &w.to_f32(), &v.to_f32(), 1e-5);
        }
        assert_close("predictions", &parallel.2.to_f32(), &local.2.to_f32(), 1e-5);
    }
}

/// `fit` options for `epochs` epochs from `initial_epoch`, batches of 8, no shuffling.
fn epochs(initial_epoch: usize, epochs: usize) -> FitOptions {
    FitOptions::new()
        .initial_epoch(initial_epoch)
        .epochs(epochs)
        .batch_size(8)
        .shuffle(false)
        .verbose(0)
}

#[test]
fn a_dead_remote_main_device_resumes_from_its_last_checkpoint() {
    // The weights live on the server: when it dies they are gone, and the way on is the
    // last checkpoint, loaded onto another device.
    let dir = std::env::temp_dir().join(format!("kiln-remote-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("last.kiln");
    let mut server = Server::start("flex");
    let remote: Device = server.device().parse().unwrap();
    let checkpoint = file.clone();
    let (fit_error, weights_error) = within(120, "fit after the main device died", move || {
        let mut model = normalized_classifier();
        model.to_device(&remote).unwrap();
        model.compile("adam", "sparse_categorical_crossentropy", &[]).unwrap();
        let (x, y) = data();
        model
            .fit(&x, &y, epochs(0, 2).callback(ModelCheckpoint::new(&checkpoint)))
            .unwrap();
        server.kill();
        let fit_error = model.fit(&x, &y, epochs(2, 3)).map(|_| ()).unwrap_err();
        let weights_error = model.get_weights().map(|_| ()).unwrap_err();
        (fit_error.to_string(), weights_error.to_string())
    });
    for err in [&fit_error, &weights_error] {
        assert!(
            err.contains("remote:ws://127.0.0.1:"),
            "the error names the device: {err}"
        );
    }

    // Three epochs on a local device in one `fit`, against two on the server, then the
    // checkpoint loaded locally and the third epoch there.
    let flex: Device = "flex".parse().unwrap();
    let mut reference = normalized_classifier();
    reference.to_device(&flex).unwrap();
    reference
        .compile("adam", "sparse_categorical_crossentropy", &[])
        .unwrap();
    let (x, y) = data();
    let expected = reference.fit(&x, &y, epochs(0, 3)).unwrap();
    let mut resumed = Model::load(&file, &flex).unwrap();
    let history = resumed.fit(&x, &y, epochs(2, 3)).unwrap();
    assert_close(
        "third epoch's loss",
        &losses(history.get("loss").unwrap()),
        &losses(&expected.get("loss").unwrap()[2..]),
        1e-5,
    );
    for (w, v) in resumed
        .get_weights()
        .unwrap()
        .iter()
        .zip(&reference.get_weights().unwrap())
    {
        assert_close("weight", &w.to_f32(), &v.to_f32(), 1e-5);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_server_ends_fit_with_an_error_naming_it_and_the_weights_stay_usable() {
    let mut server = Server::start("flex");
    let remote = server.device();
    // The model is built on the test's thread below; everything runs within 120 s.
    let (err, before, after) = within(120, "fit after the server died", move || {
        let mut model = classifier();
        model
            .set_distribution(Some(DataParallel::new(["flex", remote.as_str()]).unwrap()))
            .unwrap();
        model.compile("sgd", "sparse_categorical_crossentropy", &[]).unwrap();
        let (x, y) = data();
        let options = || FitOptions::new().epochs(1).batch_size(8).verbose(0);
        model.fit(&x, &y, options()).unwrap();
        let before = model.get_weights().unwrap();
        server.kill();
        let err = model
            .fit(&x, &y, options())
            .map(|_| ())
            .expect_err("fit on a dead server must fail");
        (err.to_string(), before, model.get_weights().unwrap())
    });
    assert!(
        err.contains("remote:ws://127.0.0.1:"),
        "the error names the device: {err}"
    );
    // The main device (flex) still holds the last good weights.
    for (w, v) in after.iter().zip(&before) {
        assert_close("weight", &w.to_f32(), &v.to_f32(), 0.0);
    }
}

#[test]
fn garbage_and_vanishing_clients_do_not_stop_the_server() {
    let mut server = Server::start("flex");
    let port = server.port();
    // Bytes that are not HTTP.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&[0xde, 0xad, 0xbe, 0xef].repeat(1000)).unwrap();
    drop(s);
    // A WebSocket handshake, then a binary frame of garbage, then gone.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut reply = [0u8; 12];
    let _ = s.read(&mut reply);
    let payload = [0x5au8; 64];
    let mut frame = vec![0x82, 0x80 | payload.len() as u8, 1, 2, 3, 4];
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]));
    let _ = s.write_all(&frame);
    drop(s);
    // A client that trains, then disappears mid-step (its process is killed).
    let remote = server.device();
    let mut client = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "remote::client_training_forever", "--ignored", "--nocapture"])
        .env("KILN_TEST_REMOTE", &remote)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let _ = client.kill();
    let _ = client.wait();
    assert!(server.alive(), "the server stopped after a hostile client");
    // A well-behaved client still trains there.
    let (losses, _, _) = within(120, "training after a hostile client", move || {
        train(classifier(), Some(DataParallel::new([remote]).unwrap()))
    });
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(server.alive());
}

/// Trains on `KILN_TEST_REMOTE` until killed (run as a child process by the test above).
#[test]
#[ignore = "a helper process of garbage_and_vanishing_clients_do_not_stop_the_server"]
fn client_training_forever() {
    let Ok(remote) = std::env::var("KILN_TEST_REMOTE") else {
        return;
    };
    let mut model = classifier();
    model.to_device(&remote.parse().unwrap()).unwrap();
    model.compile("adam", "sparse_categorical_crossentropy", &[]).unwrap();
    let (x, y) = data();
    loop {
        model
            .fit(&x, &y, FitOptions::new().epochs(1).batch_size(4).verbose(0))
            .unwrap();
    }
}

#[test]
fn a_remote_device_that_is_not_serving_is_a_clear_error() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let device: Device = format!("remote:ws://127.0.0.1:{port}").parse().unwrap();
    let err = within(60, "connecting", move || device.engine().map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("remote:ws://127.0.0.1:{port}")), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn serve_refuses_other_addresses_without_the_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["serve", "--device", "flex", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--trusted-network"),
        "{err}"
    );
}

#[test]
fn kiln_predict_runs_on_a_remote_device() {
    let server = Server::start("flex");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("remote_predict");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut model = classifier();
    model.to_device(&"flex".parse().unwrap()).unwrap();
    let (path, x_path, y_path) = (dir.join("m.kiln"), dir.join("x.npy"), dir.join("y.npy"));
    model.save(&path).unwrap();
    let (x, _) = data();
    kiln::npy::write(&x_path, &x).unwrap();
    let device = server.device();
    let out = within(120, "kiln predict on a remote device", move || {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["predict", path.to_str().unwrap(), "-i", x_path.to_str().unwrap()])
            .args(["-o", y_path.to_str().unwrap(), "--device", &device])
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let y = kiln::npy::read(dir.join("y.npy")).unwrap();
    assert_close("predictions", &y.to_f32(), &model.predict(&x).unwrap().to_f32(), 1e-6);
}
