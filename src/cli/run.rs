//! `drift validate` and `drift run`: the daemon's configuration and the daemon itself.

use anyhow::Result;

use super::{RunArgs, ValidateArgs, exit, print, runtime};
use crate::output::{
    Format, ModelWindow, OnceMonitor, calibrations_json, monitor_calibration, once_monitor, problems, validated,
};

/// Runs `drift validate`; returns the exit code.
pub fn validate(args: &ValidateArgs) -> Result<i32> {
    match crate::config::load(&args.config) {
        Ok(cfg) => {
            crate::source::object::install(cfg.stores.clone());
            let ids: Vec<&str> = cfg.monitors.iter().map(|m| m.id.as_str()).collect();
            if args.format != Format::Json {
                print(&validated(&args.config, &ids));
            }
            if args.calibrate {
                calibrate_all(&cfg, args.format);
            }
            Ok(exit::OK)
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprint!("{}", problems(errors.0.len()));
            Ok(exit::CONFIG)
        }
    }
}

/// `drift validate --calibrate`: each monitor's calibration as the daemon computes it (its
/// reference loaded the daemon's way; window size and cadence from its state's recent windows
/// when there is a state), on all cores.
fn calibrate_all(cfg: &crate::config::Config, format: Format) {
    let history = crate::state::State::open_read_only(&cfg.state_dir).ok();
    let mut all = Vec::new();
    for m in &cfg.monitors {
        let result = (|| {
            let reference = crate::daemon::reference::load_reference(&m.reference, &m.columns)?;
            let recent = history.as_ref().and_then(|h| h.history(&m.id, 20).ok()).unwrap_or_default();
            let settings = crate::daemon::calibration::settings(m, &recent, 0);
            crate::daemon::calibration::compute(m, &cfg.routing(m), reference.as_ref(), &settings)
        })()
        .map_err(|e: anyhow::Error| format!("{e:#}"));
        if format != Format::Json {
            print(&monitor_calibration(&m.id, &result, format));
        }
        all.push((m.id.clone(), result));
    }
    if format == Format::Json {
        print(&calibrations_json(&all));
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
    crate::source::object::install(cfg.stores.clone());
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
                    let model: Vec<ModelWindow> = c
                        .model
                        .iter()
                        .map(|e| ModelWindow {
                            window_id: e.window_id,
                            status: e.status,
                            early: e.early,
                            whole: &e.whole,
                            segments: &e.segments,
                            label_drift: &e.label_drift,
                        })
                        .collect();
                    print(&once_monitor(&OnceMonitor {
                        model: &model,
                        id: &o.id,
                        min_rows: o.min_rows,
                        windows: &c.windows,
                        consumed: c.consumed,
                        waiting: c.waiting,
                        open_rows: o.open_rows,
                        future_rows: c.future_rows,
                        quarantined: c.quarantined,
                    }));
                    for problem in &c.problems {
                        failed = true;
                        eprintln!("drift: monitor {}: {problem}", o.id);
                    }
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
