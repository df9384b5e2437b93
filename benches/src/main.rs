//! The load benchmark: `cargo run --release -p authgate-bench --bin load`.
//!
//! Starts an in-process issuer, then five servers, each in its own process with the
//! same route and the same JSON answer (see [`servers`]): an unprotected `ceiling`, a
//! `floor` that verifies every token with `jsonwebtoken` (into a `serde_json::Value`,
//! and `floor-typed` into a struct), authgate's `layer`, and the layer with its
//! cache off (`nocache`). It drives them with `wrk` over loopback, in
//! rounds, each round visiting every pair (the order reversed every other round):
//!
//! - repeated token (a browser's `__Host-app_auth` cookie): `layer` against `ceiling`,
//!   the handler taking `Auth<Arc<User>>` and, on a second route, `Auth<User>`;
//! - unique tokens (a Bearer token never seen before): `layer` against `floor` and
//!   `floor-typed`;
//! - cache off (unique tokens): `nocache` against `floor` and `floor-typed`.
//!
//! It reports each side's throughput, their ratio, and the server CPU time per
//! request from `/proc/<pid>/stat`. With `--rss N` it then sends `N` distinct tokens
//! to a fresh layer server and reports its resident set.
//!
//! Client and servers share the machine, so only the ratios of one run mean anything.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authgate::User;
use authgate_testkit::TestIssuer;

mod proc;
mod rss;
mod servers;
mod wrk;

use servers::IssuerArgs;
use wrk::Requests;

const USAGE: &str = "usage: load [--rounds N] [--secs S] [--threads T] [--connections C] \
                     [--pool TOKENS] [--rss TOKENS] [--only-rss] [--perf DIR]";

#[derive(Debug, Clone)]
struct Options {
    rounds: u32,
    secs: u64,
    threads: u32,
    connections: u32,
    pool: usize,
    rss: usize,
    only_rss: bool,
    perf: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rounds: 5,
            secs: 5,
            threads: 2,
            connections: 32,
            pool: 40_000,
            rss: 0,
            only_rss: false,
            perf: None,
        }
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "--only-rss" {
            options.only_rss = true;
            continue;
        }
        if flag == "--bench" {
            // `cargo bench` passes it to every target.
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("{flag} takes a number from 1 to {max}, not {value:?}"))
        };
        match flag.as_str() {
            "--perf" => options.perf = Some(PathBuf::from(value)),
            "--rounds" => options.rounds = number(100)? as u32,
            "--secs" => options.secs = number(600)?,
            "--threads" => options.threads = number(64)? as u32,
            "--connections" => options.connections = number(10_000)? as u32,
            "--pool" => options.pool = number(1_000_000)? as usize,
            "--rss" => options.rss = number(10_000_000)? as usize,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// A server process, killed when dropped.
struct Server {
    kind: &'static str,
    child: Child,
    url: String,
}

impl Server {
    fn start(kind: &'static str, issuer: &IssuerArgs) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg(kind)
            .args(issuer.to_args())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{kind}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("{kind}: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("ADDR ")
            .ok_or_else(|| format!("{kind} did not start: {line:?}"))?;
        Ok(Self {
            kind,
            url: format!("http://{addr}"),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The claims every load token carries besides `sub`.
fn token(issuer: &TestIssuer, sub: &str) -> authgate_testkit::TokenBuilder {
    issuer
        .token()
        .sub(sub)
        .email("ada@example.com")
        .name("Ada Lovelace")
        .groups(["staff", "app-users"])
        .scope("openid email profile")
        .exp_in(Duration::from_secs(3 * 3600))
}

/// The user the layer maps [`token`]'s claims to.
fn user(sub: &str) -> User {
    User::builder(sub)
        .email("ada@example.com")
        .name("Ada Lovelace")
        .groups(["staff", "app-users"])
        .scopes(["openid", "email", "profile"])
        .build()
}

/// `count` RS256 tokens, minted on every core.
fn mint(issuer: &TestIssuer, count: usize) -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = count.div_ceil(cores);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|c| {
                scope.spawn(move || {
                    (c * chunk..((c + 1) * chunk).min(count))
                        .map(|i| token(issuer, &format!("load-{i}")).sign())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("minting thread"))
            .collect()
    })
}

/// One measured side: a server under one kind of load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Load {
    Repeated,
    Unique,
}

#[derive(Default, Clone, Copy)]
struct Totals {
    requests: u64,
    secs: f64,
    cpu: f64,
}

impl Totals {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / self.requests as f64
    }
}

struct Side {
    server: usize,
    load: Load,
    path: &'static str,
    totals: Totals,
    per_round: Vec<f64>,
}

struct Bench<'a> {
    options: &'a Options,
    servers: Vec<Server>,
    header: String,
    script: PathBuf,
    pool: PathBuf,
    /// Per server: the next pool index (so a server never sees a token twice in a row).
    offsets: Vec<u64>,
    ticks: u64,
}

impl Bench<'_> {
    fn measure(
        &mut self,
        server: usize,
        load: Load,
        path: &str,
        duration: Duration,
    ) -> Result<Totals, String> {
        let s = &self.servers[server];
        let requests = match load {
            Load::Repeated => Requests::Header(&self.header),
            Load::Unique => Requests::Unique {
                script: &self.script,
                file: &self.pool,
                start: self.offsets[server],
            },
        };
        let before = proc::cpu_time(s.pid(), self.ticks).map_err(|e| e.to_string())?;
        let run = wrk::run(
            &format!("{}{path}", s.url),
            self.options.threads,
            self.options.connections,
            duration,
            &requests,
        )?;
        let after = proc::cpu_time(s.pid(), self.ticks).map_err(|e| e.to_string())?;
        if run.non_2xx > 0 || run.socket_errors > 0 || run.requests == 0 {
            return Err(format!(
                "{}: {} non-2xx answers, {} socket errors in {} requests",
                s.kind, run.non_2xx, run.socket_errors, run.requests
            ));
        }
        self.offsets[server] += run.requests;
        Ok(Totals {
            requests: run.requests,
            secs: run.elapsed.as_secs_f64(),
            cpu: (after - before).as_secs_f64(),
        })
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn run(options: &Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let issuer = runtime
        .block_on(TestIssuer::start())
        .map_err(|e| e.to_string())?;
    let repeated = token(&issuer, "load-repeated").sign();
    let issuer_args = IssuerArgs {
        base_url: issuer.base_url(),
        slug: issuer.slug().to_owned(),
        client_id: issuer.client_id().to_owned(),
        issuer: issuer.issuer(),
        jwk: issuer
            .public_jwk(authgate_testkit::DEFAULT_RSA_KID)
            .ok_or("no RSA key")?
            .to_string(),
        user: serde_json::to_string(&user("load-repeated")).map_err(|e| e.to_string())?,
    };
    if !options.only_rss {
        side_by_side(options, &runtime, &issuer, &issuer_args, &repeated)?;
    }
    if options.rss > 0 {
        runtime.block_on(rss::run(
            &issuer,
            Server::start("layer", &issuer_args)?,
            options.rss,
        ))?;
    }
    Ok(())
}

fn side_by_side(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    issuer: &TestIssuer,
    issuer_args: &IssuerArgs,
    repeated: &str,
) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("authgate-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("minting {} RS256 tokens...", options.pool);
    let pool = mint(issuer, options.pool).join("\n");
    let pool = write_file(&dir, "tokens.txt", &pool)?;
    let script = write_file(&dir, "unique.lua", include_str!("../unique.lua"))?;

    let servers = servers::KINDS
        .iter()
        .map(|kind| Server::start(kind, issuer_args))
        .collect::<Result<Vec<_>, _>>()?;
    // Every server answers the same body to the same token.
    let bodies = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut bodies = Vec::new();
        for server in &servers {
            let response = client
                .get(format!("{}/api/me", server.url))
                .bearer_auth(repeated)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("{}: {}", server.kind, response.status()));
            }
            bodies.push(response.text().await.map_err(|e| e.to_string())?);
        }
        Ok::<_, String>(bodies)
    })?;
    if bodies.iter().any(|b| *b != bodies[0]) {
        return Err(format!("the servers answer differently: {bodies:#?}"));
    }
    let index = |kind: &str| servers.iter().position(|s| s.kind == kind).unwrap_or(0);
    let (ceiling, floor, floor_typed, layer, nocache) = (
        index("ceiling"),
        index("floor"),
        index("floor-typed"),
        index("layer"),
        index("nocache"),
    );
    let mut sides = [
        (ceiling, Load::Repeated, "/api/me"),
        (layer, Load::Repeated, "/api/me"),
        (floor, Load::Unique, "/api/me"),
        (layer, Load::Unique, "/api/me"),
        (nocache, Load::Unique, "/api/me"),
        (layer, Load::Repeated, "/api/me-owned"),
        (floor_typed, Load::Unique, "/api/me"),
    ]
    .map(|(server, load, path)| Side {
        server,
        load,
        path,
        totals: Totals::default(),
        per_round: Vec::new(),
    });
    let mut bench = Bench {
        options,
        offsets: vec![0; servers.len()],
        servers,
        header: format!("Cookie: __Host-app_auth={repeated}"),
        script,
        pool,
        ticks: proc::ticks_per_second(),
    };
    println!(
        "wrk -t{} -c{}, {} rounds of {} s per side, over loopback",
        options.threads, options.connections, options.rounds, options.secs
    );
    for side in &sides {
        bench.measure(side.server, side.load, side.path, Duration::from_secs(1))?;
    }
    for round in 0..options.rounds {
        let mut order: Vec<usize> = (0..sides.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let side = &mut sides[i];
            let totals = bench.measure(
                side.server,
                side.load,
                side.path,
                Duration::from_secs(options.secs),
            )?;
            side.totals.requests += totals.requests;
            side.totals.secs += totals.secs;
            side.totals.cpu += totals.cpu;
            side.per_round.push(totals.per_second());
        }
        println!("round {} of {} done", round + 1, options.rounds);
    }
    report(&bench, &sides);
    if let Some(perf_dir) = &options.perf {
        for (server, load) in [
            (layer, Load::Repeated),
            (ceiling, Load::Repeated),
            (layer, Load::Unique),
            (floor, Load::Unique),
        ] {
            profile(&mut bench, server, load, perf_dir)?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One more run of `server` under `perf record -g`, written to
/// `DIR/<kind>-<repeated|unique>.data` (read it with `perf report -i FILE`).
fn profile(bench: &mut Bench<'_>, server: usize, load: Load, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let kind = bench.servers[server].kind;
    let tokens = match load {
        Load::Repeated => "repeated",
        Load::Unique => "unique",
    };
    let data = dir.join(format!("{kind}-{tokens}.data"));
    let mut perf = Command::new("perf")
        .args(["record", "-F", "2999", "-g", "-o"])
        .arg(&data)
        .arg("-p")
        .arg(bench.servers[server].pid().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("perf could not be started ({e}); install linux-perf"))?;
    std::thread::sleep(Duration::from_millis(500));
    let totals = bench.measure(
        server,
        load,
        "/api/me",
        Duration::from_secs(bench.options.secs),
    );
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(perf.id().to_string())
        .status();
    let _ = perf.wait();
    let totals = totals?;
    println!(
        "perf: {kind}, {tokens}: {:.0} req/s under perf ({} requests), profile in {}",
        totals.per_second(),
        totals.requests,
        data.display()
    );
    count_mallocs(bench, server, load, dir)
}

/// With a uprobe on libc's `malloc` (`perf probe -x <libc.so.6> --add malloc`, as
/// root), one more repeated-token run of `server` under `perf stat`: allocations per
/// request.
fn count_mallocs(
    bench: &mut Bench<'_>,
    server: usize,
    load: Load,
    dir: &Path,
) -> Result<(), String> {
    const EVENT: &str = "probe_libc:malloc";
    let probes = Command::new("perf")
        .args(["probe", "-l"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(EVENT))
        .unwrap_or(false);
    if !probes {
        println!("perf: no {EVENT} uprobe, allocations not counted");
        return Ok(());
    }
    let kind = bench.servers[server].kind;
    let out = dir.join(format!("{kind}.mallocs"));
    let mut perf = Command::new("perf")
        .args(["stat", "-x", ",", "-e", EVENT, "-o"])
        .arg(&out)
        .arg("-p")
        .arg(bench.servers[server].pid().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(500));
    let totals = bench.measure(server, load, "/api/me", Duration::from_secs(2));
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(perf.id().to_string())
        .status();
    let _ = perf.wait();
    let totals = totals?;
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let count: f64 = text
        .lines()
        .find(|l| l.contains(EVENT))
        .and_then(|l| l.split(',').next()?.trim().parse().ok())
        .ok_or_else(|| format!("unreadable perf stat output: {text}"))?;
    println!(
        "perf: {kind}, {}: {:.1} mallocs per request",
        match load {
            Load::Repeated => "repeated",
            Load::Unique => "unique",
        },
        count / totals.requests as f64
    );
    Ok(())
}

fn report(bench: &Bench<'_>, sides: &[Side]) {
    let name = |side: &Side| {
        let kind = bench.servers[side.server].kind;
        match (side.load, side.path) {
            (Load::Repeated, "/api/me") => format!("{kind}, repeated"),
            (Load::Repeated, _) => format!("{kind}, repeated, owned"),
            (Load::Unique, _) => format!("{kind}, unique"),
        }
    };
    println!();
    println!(
        "{:<26} {:>10} {:>10} {:>12}",
        "server, tokens", "requests", "req/s", "CPU µs/req"
    );
    for side in sides {
        println!(
            "{:<26} {:>10} {:>10.0} {:>12.2}",
            name(side),
            side.totals.requests,
            side.totals.per_second(),
            side.totals.cpu_us()
        );
    }
    println!();
    println!(
        "{:<32} {:>10} {:>8} {:>16} {:>9}",
        "comparison", "throughput", "median", "rounds (min-max)", "CPU/req"
    );
    for (label, a, b) in [
        ("repeated: layer / ceiling", 1, 0),
        ("repeated, owned: layer / ceiling", 5, 0),
        ("unique: layer / floor", 3, 2),
        ("cache off: layer / floor", 4, 2),
        ("unique: layer / floor-typed", 3, 6),
        ("cache off: layer / floor-typed", 4, 6),
    ] {
        let (a, b) = (&sides[a], &sides[b]);
        let ratios: Vec<f64> = a
            .per_round
            .iter()
            .zip(&b.per_round)
            .map(|(x, y)| x / y)
            .collect();
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
        println!(
            "{:<32} {:>9.3}x {:>7.3}x {:>7.3}-{:<8.3} {:>8.3}x",
            label,
            a.totals.per_second() / b.totals.per_second(),
            median,
            min,
            max,
            a.totals.cpu_us() / b.totals.cpu_us()
        );
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [serve, kind, rest @ ..] = args.as_slice()
        && serve == "serve"
    {
        let Some(issuer) = IssuerArgs::from_args(rest) else {
            eprintln!("load serve: bad arguments");
            return std::process::ExitCode::from(2);
        };
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        return match runtime.block_on(servers::serve(kind, &issuer)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("load serve {kind}: {err}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("load: {err}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("load: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
