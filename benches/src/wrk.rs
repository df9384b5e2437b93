//! Running `wrk` and reading its summary.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Run {
    pub(crate) requests: u64,
    pub(crate) elapsed: Duration,
    pub(crate) non_2xx: u64,
    pub(crate) socket_errors: u64,
}

/// How requests are made.
pub(crate) enum Requests<'a> {
    /// Every request carries this header (`Name: value`).
    Header(&'a str),
    /// Every request carries the next token of `file` as a Bearer token, from `start`.
    Unique {
        script: &'a Path,
        file: &'a Path,
        start: u64,
    },
}

/// Runs `wrk -t threads -c connections -d duration` against `url`.
pub(crate) fn run(
    url: &str,
    threads: u32,
    connections: u32,
    duration: Duration,
    requests: &Requests<'_>,
) -> Result<Run, String> {
    let mut wrk = Command::new("wrk");
    wrk.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)));
    match requests {
        Requests::Header(header) => {
            wrk.arg("-H").arg(header).arg(url);
        }
        Requests::Unique {
            script,
            file,
            start,
        } => {
            wrk.arg("-s")
                .arg(script)
                .arg(url)
                .arg("--")
                .arg(file)
                .arg(start.to_string())
                .arg(threads.to_string());
        }
    }
    let output = wrk
        .output()
        .map_err(|e| format!("wrk could not be started ({e}); install it: apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {}\n{text}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    parse(&text).ok_or_else(|| format!("unreadable wrk output:\n{text}"))
}

fn parse(text: &str) -> Option<Run> {
    let mut run = Run::default();
    let mut seen = false;
    for line in text.lines().map(str::trim) {
        if let Some((count, rest)) = line.split_once(" requests in ") {
            run.requests = count.trim().parse().ok()?;
            let elapsed = rest.split(',').next()?.trim();
            run.elapsed = parse_duration(elapsed)?;
            seen = true;
        } else if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.non_2xx = count.trim().parse().ok()?;
        } else if let Some(errors) = line.strip_prefix("Socket errors:") {
            run.socket_errors = errors
                .split(',')
                .filter_map(|e| e.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        }
    }
    seen.then_some(run)
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary() {
        let text = "Running 5s test @ http://127.0.0.1:1/api/me
  2 threads and 32 connections
  123456 requests in 5.01s, 12.34MB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  24641.62
Transfer/sec:      2.46MB";
        let run = parse(text).unwrap();
        assert_eq!(run.requests, 123_456);
        assert_eq!(run.elapsed, Duration::from_secs_f64(5.01));
        assert_eq!((run.non_2xx, run.socket_errors), (7, 3));
        assert_eq!(parse_duration("1.00m").unwrap(), Duration::from_secs(60));
    }
}
