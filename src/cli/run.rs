//! `drift validate` and `drift run`: the daemon's configuration and the daemon itself.

use anyhow::Result;

use super::{RunArgs, ValidateArgs, exit, print, runtime};
use crate::output::{OnceMonitor, once_monitor, problems, validated};

/// Runs `drift validate`; returns the exit code.
pub fn validate(args: &ValidateArgs) -> Result<i32> {
    match crate::config::load(&args.config) {
        Ok(cfg) => {
            let ids: Vec<&str> = cfg.monitors.iter().map(|m| m.id.as_str()).collect();
            print(&validated(&args.config, &ids));
            Ok(exit::OK)
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprint!("{}", problems(errors.0.len()));
            Ok(exit::CONFIG)
        }
    }
}

/// Runs `drift run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    let cfg = match crate::config::load(&args.config) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(exit::CONFIG);
        }
    };
    let rt = runtime()?;
    if args.once {
        let outcomes = match rt.block_on(crate::daemon::run_once(&cfg)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("drift: error: {e:#}");
                return Ok(exit::DRIFT);
            }
        };
        let (mut drift, mut failed) = (false, false);
        for o in &outcomes {
            match &o.result {
                Ok(c) => {
                    drift |= c.windows.iter().any(|w| w.1.as_ref().is_some_and(|r| r.drift));
                    print(&once_monitor(&OnceMonitor {
                        id: &o.id,
                        min_rows: o.min_rows,
                        windows: &c.windows,
                        consumed: c.consumed,
                        waiting: c.waiting,
                        open_rows: o.open_rows,
                        future_rows: c.future_rows,
                        quarantined: c.quarantined,
                    }));
                }
                Err(e) => {
                    failed = true;
                    eprintln!("drift: monitor {}: {e:#}", o.id);
                }
            }
        }
        return Ok(if failed || (drift && args.fail_on_drift) { exit::DRIFT } else { exit::OK });
    }
    match rt.block_on(crate::daemon::run_forever(args.config.clone(), cfg)) {
        Ok(()) => Ok(exit::OK),
        Err(e) => {
            eprintln!("drift: error: {e:#}");
            Ok(exit::DRIFT)
        }
    }
}
