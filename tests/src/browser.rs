//! A headless Chromium driven over WebDriver, for end-to-end tests of the web
//! console: a test opens pages served on loopback, fills forms, clicks, reads
//! text and computed styles, and keeps screenshots.
//!
//! Each [`Browser`] is its own Debian `chromedriver` process (started with
//! `--port=0`; the port it picked is read from the line it prints on stdout)
//! driving its own Chromium on a fresh profile folder, connected to with
//! [`fantoccini`] over plain HTTP on loopback. Browsers share nothing, so tests
//! run in parallel and one test may open several (one per delegation).
//!
//! The console's pages carry a strict content security policy and no
//! JavaScript at all, so the helpers here use WebDriver commands only (find,
//! text, click, clear, send keys, CSS value, page source, screenshot), never
//! a page script. Clicking a link or a submit button waits for the page it
//! leads to (Chromium submits a form after the click returns, so chromedriver
//! alone does not always wait for it).
//!
//! `chromedriver` runs in its own process group, with Chromium and its helper
//! processes under it; dropping a [`Browser`] (say, when a test panics) kills
//! that whole group, so no browser outlives its test.
//!
//! ChromeDriver and Chromium are Debian's `chromium-driver` and `chromium`
//! packages, whose versions must match; `.ci/run` installs them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

/// Debian's ChromeDriver (package `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian's Chromium may be, in order of preference.
const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
/// What chromedriver prints on stdout once it listens, followed by the port.
const STARTED: &str = "ChromeDriver was started successfully on port ";
/// How long chromedriver may take to print its port and answer `/status`.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a link or submit button may take to load the page it leads to.
pub const NAVIGATION_TIMEOUT: Duration = Duration::from_secs(20);
/// The eight bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Set to `1` to also write screenshots to `tests/screenshots/` in the repo.
const UPDATE_SCREENSHOTS: &str = "ENTENTE_UPDATE_SCREENSHOTS";

/// Chromium's command line, but for `--user-data-dir` (a fresh folder each).
///
/// New headless mode (the real browser, without a window); no sandbox, as
/// tests may run as root or in a container without user namespaces; no GPU;
/// nothing that talks to the network on its own (QUIC, background fetches,
/// component updates, sync); `/tmp` rather than a possibly small `/dev/shm`;
/// no scrollbars and a fixed window, so screenshots are comparable.
pub const CHROMIUM_ARGS: [&str; 11] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1280,1600",
];

/// One headless Chromium under its own chromedriver, and the WebDriver
/// session on it. Dropping it kills both (see the module docs); [`close`]
/// ends the session first.
///
/// [`close`]: Browser::close
pub struct Browser {
    // Declared first, so dropped before the driver is killed.
    client: Client,
    driver: Driver,
}

/// The chromedriver process (leader of its own process group) and the folder
/// holding Chromium's profile and chromedriver's log. Dropping it kills the
/// whole group, then removes the folder.
struct Driver {
    child: Child,
    port: u16,
    scratch: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // process_group(0) made the child's pid its group id; Chromium and
        // its helpers inherited that group.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
        // names the process group, which is ours alone.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        // Reap chromedriver (Chromium's processes are reparented and reaped
        // by init); an error means it was reaped already.
        let _ = self.child.wait();
    }
}

impl Driver {
    /// What chromedriver wrote on stderr so far, for error messages.
    fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("chromedriver.log"))
            .unwrap_or_else(|e| format!("(no chromedriver log: {e})"))
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port, waits until it answers,
    /// and opens a session on a fresh headless Chromium.
    ///
    /// Panics, naming `.ci/run`, if chromedriver or Chromium is not installed.
    pub async fn start() -> Browser {
        let chromium = chromium();
        let driver = match tokio::task::spawn_blocking(start_driver).await {
            Ok(driver) => driver,
            // Its message says what is missing or what chromedriver logged.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("starting chromedriver: {e}"),
        };
        let profile = driver.scratch.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "opening a WebDriver session on {chromium} through chromedriver at {url}: {e}\n\
                     (chromium and chromium-driver must be the same version: see .ci/run)\n\
                     chromedriver log:\n{}",
                    driver.log()
                )
            });
        Browser { client, driver }
    }

    /// The WebDriver client, for whatever the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the WebDriver session (Chromium quits), then kills chromedriver.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        client.close().await.expect("closing the WebDriver session");
        drop(driver);
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The rendered text of the first element matching the CSS selector.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        match element.text().await {
            Ok(text) => text,
            Err(e) => panic!("reading the text of `{css}` on {}: {e}", self.url().await),
        }
    }

    /// The current page's source (the DOM as serialised now).
    pub async fn source(&self) -> String {
        match self.client.source().await {
            Ok(source) => source,
            Err(e) => panic!("reading the source of {}: {e}", self.url().await),
        }
    }

    /// Clicks the first element matching the CSS selector. If it is a link
    /// (not to a fragment, nor into another window) or a submit button, waits
    /// until the page it leads to has replaced this one, so the next helper
    /// reads the new page; panics if none comes within [`NAVIGATION_TIMEOUT`].
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        // The old page's root element, which goes stale when it is replaced.
        let old_page = match Browser::leads_away(&element).await {
            Ok(true) => Some(self.find("html").await),
            Ok(false) => None,
            Err(e) => panic!("inspecting `{css}` on {}: {e}", self.url().await),
        };
        if let Err(e) = element.click().await {
            panic!("clicking `{css}` on {}: {e}", self.url().await);
        }
        let Some(old_page) = old_page else { return };
        let deadline = Instant::now() + NAVIGATION_TIMEOUT;
        loop {
            match old_page.tag_name().await {
                Err(e) if e.is_stale_element_reference() || e.is_no_such_element() => return,
                // Chromium's way of saying the same while the new page comes in.
                Err(e) if e.to_string().contains("does not belong to the document") => return,
                Err(e) => panic!("after clicking `{css}` on {}: {e}", self.url().await),
                Ok(_) if Instant::now() > deadline => panic!(
                    "clicking `{css}` on {} did not load a new page within {NAVIGATION_TIMEOUT:?}",
                    self.url().await
                ),
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// Clears the first form field matching the CSS selector and types `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.find(css).await;
        if let Err(e) = element.clear().await {
            panic!("clearing `{css}` on {}: {e}", self.url().await);
        }
        if let Err(e) = element.send_keys(value).await {
            panic!("typing into `{css}` on {}: {e}", self.url().await);
        }
    }

    /// The computed value of a CSS `property` (e.g. `color`, as
    /// `rgba(0, 0, 0, 1)`) of the first element matching the CSS selector.
    pub async fn css_value(&self, css: &str, property: &str) -> String {
        let element = self.find(css).await;
        match element.css_value(property).await {
            Ok(value) => value,
            Err(e) => panic!(
                "reading `{property}` of `{css}` on {}: {e}",
                self.url().await
            ),
        }
    }

    /// Whether any element matches the CSS selector (without waiting).
    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => !elements.is_empty(),
            Err(e) => panic!("looking for `{css}` on {}: {e}", self.url().await),
        }
    }

    /// Takes a PNG screenshot of the window (the viewport) and writes it to
    /// `screenshots/<name>.png` in the target folder of this profile
    /// (`target/<profile>/screenshots`, found from the test executable, which
    /// is in `target/<profile>/deps`); returns that path. With
    /// `ENTENTE_UPDATE_SCREENSHOTS=1` it is also written to
    /// `tests/screenshots/<name>.png` in the repository, the copies the README
    /// shows.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        assert!(
            !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.'),
            "screenshot name {name:?} must be a plain file name, without `.png`"
        );
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => panic!("taking a screenshot of {}: {e}", self.url().await),
        };
        assert!(
            png.starts_with(PNG_SIGNATURE),
            "the screenshot of {} is not a PNG ({} bytes)",
            self.url().await,
            png.len()
        );
        let file = format!("{name}.png");
        let path = target_dir().join("screenshots").join(&file);
        write_creating_dir(&path, &png);
        if std::env::var_os(UPDATE_SCREENSHOTS).is_some_and(|v| v == "1") {
            let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("screenshots")
                .join(&file);
            write_creating_dir(&committed, &png);
        }
        path
    }

    /// Whether clicking `element` loads another page: it is a link (not to a
    /// fragment of this page, nor into another window) or a submit button.
    ///
    /// Chromium submits a form in a task of its own, after the click, so
    /// chromedriver's wait for a navigation the click started can miss it,
    /// and the next command would then still see the old page: `click` waits
    /// itself for these.
    async fn leads_away(element: &Element) -> Result<bool, fantoccini::error::CmdError> {
        let tag = element.tag_name().await?.to_ascii_lowercase();
        // The `type` property: the attribute's value, or its default.
        let kind = match tag.as_str() {
            "button" | "input" => element.prop("type").await?.unwrap_or_default(),
            _ => String::new(),
        };
        Ok(match (tag.as_str(), kind.to_ascii_lowercase().as_str()) {
            ("a" | "area", _) => {
                let href = element.attr("href").await?;
                let target = element.attr("target").await?;
                href.is_some_and(|href| !href.starts_with('#'))
                    && target.is_none_or(|t| t.is_empty() || t == "_self")
            }
            ("button", "submit") | ("input", "submit" | "image") => true,
            _ => false,
        })
    }

    /// The first element matching the CSS selector; panics if there is none.
    async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element matches `{css}` on {}: {e}", self.url().await),
        }
    }

    /// The current URL, for error messages (never panics).
    async fn url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("<unknown page: {e}>"),
        }
    }
}

/// Debian's Chromium; panics, naming `.ci/run`, if it is not installed.
pub fn chromium() -> &'static str {
    CHROMIUM
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is not installed (none of {CHROMIUM:?}): \
                 run .ci/run, which installs Debian's chromium and chromium-driver"
            )
        })
}

/// Starts chromedriver on `--port=0` in its own process group, reads the port
/// it chose from stdout, and waits until `/status` says it is ready. Blocking.
fn start_driver() -> Driver {
    assert!(
        Path::new(CHROMEDRIVER).exists(),
        "ChromeDriver is not installed ({CHROMEDRIVER} is missing): \
         run .ci/run, which installs Debian's chromium-driver"
    );
    let scratch = tempfile::tempdir().expect("creating a temp dir for chromedriver");
    let log = File::create(scratch.path().join("chromedriver.log"))
        .expect("creating the chromedriver log file");
    let mut child = Command::new(CHROMEDRIVER)
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e} (see .ci/run)"));
    let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
    // From here on, dropping `driver` kills the process group.
    let mut driver = Driver {
        child,
        port: 0,
        scratch,
    };

    // Read stdout on a thread of its own: it sends the port, then keeps
    // draining the pipe so that chromedriver never blocks on a full one.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.strip_prefix(STARTED) {
                let _ = tx.send(rest.trim_end_matches('.').parse::<u16>());
                break;
            }
        }
        for _ in lines {}
    });
    let deadline = Instant::now() + START_TIMEOUT;
    driver.port = match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(port)) if port != 0 => port,
        Ok(other) => panic!("chromedriver printed a bad port ({other:?})"),
        Err(_) => panic!(
            "chromedriver did not print `{STARTED}<port>` within {START_TIMEOUT:?} \
             (exit status {:?}); its log:\n{}",
            driver.child.try_wait(),
            driver.log()
        ),
    };
    while !driver_ready(driver.port) {
        if Instant::now() > deadline {
            panic!(
                "chromedriver on port {} is not ready after {START_TIMEOUT:?}; its log:\n{}",
                driver.port,
                driver.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

/// Whether chromedriver on `port` answers `GET /status` with `"ready": true`.
/// (It keeps the connection open despite `Connection: close`, so the answer is
/// read until it says so, not to the end.)
fn driver_ready(port: u16) -> bool {
    let ask = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream
            .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
        let mut answer = Vec::new();
        let mut buf = [0; 4096];
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(false);
            }
            answer.extend_from_slice(&buf[..n]);
            let compact: String = String::from_utf8_lossy(&answer)
                .split_whitespace()
                .collect();
            if compact.contains("\"ready\":true") {
                return Ok(true);
            }
        }
    };
    ask().unwrap_or(false)
}

/// `target/<profile>`: the parent of the `deps` folder the test executable
/// is in (or the executable's own folder, if it is not in one).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("locating the test executable");
    let dir = exe.parent().expect("the test executable's folder");
    match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().unwrap_or(dir).to_owned(),
        _ => dir.to_owned(),
    }
}

/// Writes `bytes` to `path`, creating its folder if need be.
fn write_creating_dir(path: &Path, bytes: &[u8]) {
    let dir = path.parent().expect("a file path has a folder");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
