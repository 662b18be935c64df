//! `drift silence add|list|expire`.

use anyhow::Result;

use super::{SilenceAddArgs, SilenceCommand, SilenceExpireArgs, SilenceListArgs, exit, known_monitor, load, print};
use crate::alerts::lifecycle::Silence;
use crate::output::{SilenceLine, SilenceScope, silence_added, silence_expired, silence_list};
use crate::state::SilenceRow;

/// Parses `--until`: an RFC 3339 time, or a duration from `now_ms` (`90s`, `90m`, `2h`, `3d`).
pub fn parse_until(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    let unit = |c: char| match c {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    };
    if let Some(last) = t.chars().last()
        && let Some(ms) = unit(last)
        && let Ok(n) = t[..t.len() - 1].parse::<i64>()
        && n > 0
    {
        return Ok(now_ms + n.saturating_mul(ms));
    }
    crate::clock::parse_rfc3339_ms(t).ok_or_else(|| {
        format!(
            "--until {text:?}: give an RFC 3339 time such as 2026-11-27T08:00:00Z, or a duration such as 90m, 2h, 3d"
        )
    })
}

/// Runs `drift silence ...`; returns the exit code.
pub fn silence(cmd: &SilenceCommand) -> Result<i32> {
    let now = crate::clock::now_ms();
    match cmd {
        SilenceCommand::Add(a) => add(a, now)?,
        SilenceCommand::List(a) => list(a, now)?,
        SilenceCommand::Expire(a) => expire(a, now)?,
    }
    Ok(exit::OK)
}

fn add(a: &SilenceAddArgs, now: i64) -> Result<()> {
    let cfg = load(&a.config)?;
    known_monitor(&cfg, &a.monitor)?;
    let until_ms = parse_until(&a.until, now).map_err(anyhow::Error::msg)?;
    if until_ms <= now {
        anyhow::bail!("--until {:?} is in the past", a.until);
    }
    if a.reason.trim().is_empty() {
        anyhow::bail!("--reason is empty: say why, for whoever wonders tomorrow why nothing paged");
    }
    let silence =
        Silence { monitor: a.monitor.clone(), column: a.column.clone(), segment: a.segment.clone(), until_ms };
    let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
    let id = st.silence_add(&silence, a.reason.trim(), now)?;
    print(&silence_added(id, &scope(&silence), until_ms));
    Ok(())
}

fn list(a: &SilenceListArgs, now: i64) -> Result<()> {
    let cfg = load(&a.config)?;
    let st = crate::state::State::open_shared(&cfg.state_dir)?;
    let rows: Vec<SilenceRow> =
        st.silences()?.into_iter().filter(|r| a.all || (r.expired_ms.is_none() && r.silence.until_ms > now)).collect();
    let lines: Vec<SilenceLine> = rows
        .iter()
        .map(|r| SilenceLine {
            id: r.id,
            scope: scope(&r.silence),
            until_ms: r.silence.until_ms,
            expired_ms: r.expired_ms,
            reason: &r.reason,
        })
        .collect();
    print(&silence_list(&lines, a.all, now));
    Ok(())
}

fn expire(a: &SilenceExpireArgs, now: i64) -> Result<()> {
    let cfg = load(&a.config)?;
    let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
    if !st.silence_expire(a.id, now)? {
        anyhow::bail!("no active silence {} (see `drift silence list --all`)", a.id);
    }
    print(&silence_expired(a.id));
    Ok(())
}

/// What a silence covers, as the output shows it.
fn scope(s: &Silence) -> SilenceScope<'_> {
    SilenceScope { monitor: &s.monitor, column: s.column.as_deref(), segment: s.segment.as_deref() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_durations_and_rfc3339_times() {
        let now = 1_795_000_000_000;
        assert_eq!(parse_until("2h", now), Ok(now + 7_200_000));
        assert_eq!(parse_until("90m", now), Ok(now + 5_400_000));
        assert_eq!(parse_until("3d", now), Ok(now + 3 * 86_400_000));
        // Python: datetime(2026, 11, 18, 11, 6, 40, tzinfo=timezone.utc).timestamp() == 1795000000
        assert_eq!(parse_until("2026-11-18T11:06:40Z", 0), Ok(1_795_000_000_000));
        assert_eq!(parse_until("2026-11-18T12:06:40.5+01:00", 0), Ok(1_795_000_000_500));
        for bad in ["tomorrow", "2h30", "-2h", "0h", "2026-13-01T00:00:00Z", "2026-11-18 11:06"] {
            assert!(parse_until(bad, now).is_err(), "{bad}");
        }
    }
}
