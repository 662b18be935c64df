//! The finite-n one-sample Kolmogorov distribution: `kstwo_sf(d, n) = P(D_n >= d)`.
//!
//! This is the p-value of the asymptotic two-sample KS test at the effective sample size
//! `round(n*m/(n+m))`, as SciPy's `ks_2samp` computes it. The regimes follow Simard and
//! L'Ecuyer (2011), "Computing the Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Softw.
//! 39(11), with the same cut-offs SciPy uses so results agree with `scipy.stats.kstwo.sf`:
//!
//! - `n*d <= 0.5`: 1. `n*d <= 1`: Ruben-Gambino closed form of the CDF.
//! - `n*d >= n-1`: `2(1-d)^n`. `d >= 0.5`: `2*smirnov(n, d)` (exact, the two tails are disjoint).
//! - `n <= 140`: Durbin matrix (Marsaglia-Tsang-Wang) when `n*d^2 <= 0.754693`, Pomeranz when
//!   `n*d^2 <= 4`, otherwise `2*smirnov(n, d)`.
//! - `n > 140`: 0 when `n*d^2 >= 370`; `2*smirnov(n, d)` when `n*d^2 >= 2.2`; otherwise
//!   `1 - CDF` with the CDF from Durbin/MTW (`n <= 100 000` and `n*d^1.5 <= 1.4`) or the
//!   Pelz-Good series.
//!
//! `smirnov(n, d)` is the one-sided Smirnov survival function (Birnbaum-Tingey sum), summed in
//! log space; above n = 1 000 000 it is SciPy's approximation `exp(-(6nd+1)^2/(18n))`.

const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
const MIN_LOG: f64 = -708.0;
const MINLOG_CEPHES: f64 = -7.083_964_185_322_641e2; // ln(2^-1022)
const SMIRNOV_MAX_COMPUTE_N: u64 = 1_000_000;

/// `P(D_n >= d)` for the two-sided one-sample Kolmogorov statistic `D_n`; clipped to [0, 1].
pub fn kstwo_sf(d: f64, n: u64) -> f64 {
    assert!(n > 0, "kstwo_sf needs n >= 1");
    if d.is_nan() {
        return f64::NAN;
    }
    if d >= 1.0 {
        return 0.0;
    }
    if d <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * d;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - d).powf(nf));
    }
    if d >= 0.5 {
        return clip(2.0 * smirnov(n, d));
    }
    let nxsquared = t * d;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - durbin_mtw_cdf(n, d));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, d));
        }
        return clip(2.0 * smirnov(n, d));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov(n, d));
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * d.powf(1.5) <= 1.4 {
        durbin_mtw_cdf(n, d)
    } else {
        pelz_good_cdf(n, d)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// log(n!/n^n) by Stirling's series with n*log(n) removed up front.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_5e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, &c| acc * x + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * poly
}

/// Durbin's matrix method as Marsaglia, Tsang and Wang (2003) evaluate it: `P(D_n <= d)`.
fn durbin_mtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;

    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut h_expnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            hm.iter_mut().for_each(|x| *x /= EP128);
            h_expnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    ldexp(p, expnt)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let row_b = &b[k * m..(k + 1) * m];
            let row_c = &mut c[i * m..(i + 1) * m];
            for (cj, bj) in row_c.iter_mut().zip(row_b) {
                *cj += aik * bj;
            }
        }
    }
    c
}

fn ldexp(x: f64, e: i32) -> f64 {
    // Split the scaling so intermediate powers of two stay finite and normal.
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

fn pomeranz_j1j2(i: usize, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let ip1 = i as i64 + 1;
        let (ip1div2, ip1mod2) = (ip1 / 2, ip1 % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Pomeranz's recursion (1974): `P(D_n <= d)`.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_m2g_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let mut expnt: i32 = 0;
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * n as usize + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n as usize + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // Full convolution of a = V0[k1-V0s .. +ln2] and b = pwrs[..ln2] (NumPy slicing
            // semantics: truncated at the array end), entries conv_start .. +conv_len kept.
            let a_start = (k1 - v0s) as usize;
            let a_end = (a_start + ln2 as usize).min(npwrs);
            let a = &v0[a_start.min(a_end)..a_end];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            let mut vmax: f64 = 0.0;
            for (out, idx) in (conv_start..conv_start + conv_len).enumerate() {
                let lo = idx.saturating_sub(b.len().saturating_sub(1));
                let hi = idx.min(a.len().saturating_sub(1));
                let mut s = 0.0;
                if !a.is_empty() {
                    for ai in lo..=hi {
                        s += a[ai] * b[idx - ai];
                    }
                }
                v1[out] = s;
                vmax = vmax.max(s);
            }
            if vmax > 0.0 && vmax < EM128 {
                v1.iter_mut().for_each(|x| *x *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    ldexp(ans, expnt)
}

/// Pelz and Good's (1976) series for `P(D_n <= x)`, accurate for small `x*sqrt(n)`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powi((8 * k) as i32);
        let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (a, c) in kk.iter_mut().zip(coeffs) {
            *a = *a * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denom = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (a, dn) in kk.iter_mut().zip(denom) {
        *a = *a * q * sqrt2pi / dn;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let ksq = kf * kf;
        let qp = q.powf(ksq);
        let kspi = PI * kf;
        k2extra += ksq * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    kk[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, a) in kk.iter_mut().enumerate() {
        *a /= nf.powf(i as f64 / 2.0);
    }
    kk.iter().sum()
}

/// One-sided Smirnov survival function `P(D_n^+ >= x)`.
pub fn smirnov(n: u64, x: f64) -> f64 {
    assert!(n > 0 && (0.0..=1.0).contains(&x), "smirnov needs n >= 1 and 0 <= x <= 1");
    let nf = n as f64;
    if n == 1 {
        return x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    let mut nxfl = nx.floor();
    let mut alpha = nx - nxfl;
    if alpha >= 1.0 {
        nxfl += 1.0;
        alpha = 0.0;
    }
    let nxfl = nxfl as u64;
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        // x <= 1/n: CDF = x (1+x)^(n-1)
        return clip(1.0 - x * (1.0 + x).powf(nf - 1.0));
    }
    if -2.0 * nf * x * x < MINLOG_CEPHES {
        return 0.0;
    }
    if nxfl >= n - 1 {
        return clip((1.0 - x).powf(nf));
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        let sf = if logp < -std::f64::consts::LN_2 { logp.exp() } else { 1.0 + logp.exp_m1() };
        return clip(sf);
    }
    // Lower Birnbaum-Tingey sum: sf = x * sum_{j=0}^{J} C(n,j) (1-x-j/n)^(n-j) (x+j/n)^(j-1)
    let mut last = n - nxfl - if alpha == 0.0 { 0 } else { 1 };
    if alpha == 0.0 {
        last -= 1;
    }
    let n_terms = last + 1;
    let vmid = n / 2;
    let mut sum = (1.0 - x).powf(nf) / x;
    let mut ln_binom = 0.0f64;
    for j in 1..n_terms {
        ln_binom += ((n - j + 1) as f64 / j as f64).ln();
        let jf = j as f64;
        let base2 = (n - j) as f64 / nf - x;
        if base2 <= 0.0 {
            break;
        }
        let ln_term = ln_binom + (nf - jf) * base2.ln() + (jf - 1.0) * (jf / nf + x).ln();
        let term = ln_term.exp();
        sum += term;
        if term != 0.0 {
            if 4.0 * (n_terms - j) as f64 * term < f64::EPSILON * sum && j != n_terms - 1 {
                break;
            }
        } else if j > vmid {
            break;
        }
    }
    clip(x * sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        assert_eq!(kstwo_sf(0.3, 1), 1.0);
        assert!((kstwo_sf(0.6, 1) - 0.8).abs() < 1e-15);
        assert!((kstwo_sf(0.75, 2) - 0.125).abs() < 1e-15);
        assert_eq!(kstwo_sf(0.0, 100), 1.0);
        assert_eq!(kstwo_sf(1.0, 100), 0.0);
    }

    #[test]
    fn monotone_in_d() {
        for n in [3u64, 50, 141, 5000, 200_000] {
            let mut last = 1.0;
            for i in 1..200 {
                let d = i as f64 / 200.0;
                let p = kstwo_sf(d, n);
                assert!(p <= last + 1e-12, "n={n} d={d}: {p} > {last}");
                last = p;
            }
        }
    }
}
