//! Unions of Redis HyperLogLogs kept in different hash slots, counted in livedash: on a Redis
//! Cluster one `PFCOUNT` may only name keys of one slot, so the union of several series'
//! unique-count buckets is read with `GET` (Redis's own encoding, sparse or dense), merged
//! register by register (a union is the registers' maximum, exactly as `PFCOUNT` of several
//! keys merges them) and estimated with Redis's estimator (Ertl's improved estimator, as in
//! `hyperloglog.c`), so that the count equals what `PFCOUNT` over the same keys answers on a
//! single server. Never a sum of per-series counts, which counts a user once per series.

/// Registers of a Redis HyperLogLog (precision 14).
const REGISTERS: usize = 1 << 14;
/// Bits of hash that pick the register; the rest give the run of zeros (`HLL_Q`).
const Q: usize = 64 - 14;
/// Bytes of the header: `HYLL`, encoding, three unused bytes, the cached cardinality.
const HEADER: usize = 16;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;

/// Why a stored value is not a HyperLogLog livedash can read.
#[derive(Debug, PartialEq, Eq)]
pub struct NotHyperLogLog(pub &'static str);

/// The registers of a union, merged one HyperLogLog at a time.
pub struct Union {
    registers: Vec<u8>,
}

impl Default for Union {
    fn default() -> Self {
        Self {
            registers: vec![0; REGISTERS],
        }
    }
}

impl Union {
    /// Adds `stored`, a HyperLogLog as `GET` returns it.
    ///
    /// # Errors
    /// It is not a HyperLogLog in Redis's sparse or dense encoding.
    pub fn add(&mut self, stored: &[u8]) -> Result<(), NotHyperLogLog> {
        if stored.len() < HEADER || &stored[..4] != b"HYLL" {
            return Err(NotHyperLogLog("no HYLL header"));
        }
        let body = &stored[HEADER..];
        match stored[4] {
            DENSE => self.add_dense(body),
            SPARSE => self.add_sparse(body),
            _ => Err(NotHyperLogLog("unknown encoding")),
        }
    }

    fn add_dense(&mut self, body: &[u8]) -> Result<(), NotHyperLogLog> {
        if body.len() < REGISTERS * 6 / 8 {
            return Err(NotHyperLogLog("dense registers cut short"));
        }
        for (index, register) in self.registers.iter_mut().enumerate() {
            // Six bits per register, least significant first, across byte boundaries.
            let bit = index * 6;
            let (byte, shift) = (bit / 8, bit % 8);
            let low = u16::from(body[byte]);
            let high = u16::from(body.get(byte + 1).copied().unwrap_or(0));
            let value = (((low | (high << 8)) >> shift) & 0x3f) as u8;
            *register = (*register).max(value);
        }
        Ok(())
    }

    fn add_sparse(&mut self, body: &[u8]) -> Result<(), NotHyperLogLog> {
        let mut index = 0;
        let mut at = 0;
        while at < body.len() {
            let opcode = body[at];
            if opcode & 0xc0 == 0 {
                // ZERO: a run of 1 to 64 empty registers.
                index += usize::from(opcode & 0x3f) + 1;
                at += 1;
            } else if opcode & 0xc0 == 0x40 {
                // XZERO: a run of 1 to 16 384 empty registers, in two bytes.
                let next = *body
                    .get(at + 1)
                    .ok_or(NotHyperLogLog("sparse run cut short"))?;
                index += ((usize::from(opcode & 0x3f) << 8) | usize::from(next)) + 1;
                at += 2;
            } else {
                // VAL: 1 to 4 registers holding 1 to 32.
                let value = ((opcode >> 2) & 0x1f) + 1;
                let run = usize::from(opcode & 0x03) + 1;
                if index + run > REGISTERS {
                    return Err(NotHyperLogLog("sparse registers past the end"));
                }
                for register in &mut self.registers[index..index + run] {
                    *register = (*register).max(value);
                }
                index += run;
                at += 1;
            }
        }
        if index != REGISTERS {
            return Err(NotHyperLogLog("sparse registers do not add up"));
        }
        Ok(())
    }

    /// The estimated count of distinct members, as `PFCOUNT` computes it.
    #[must_use]
    pub fn count(&self) -> u64 {
        let m = REGISTERS as f64;
        let mut histogram = [0_u32; Q + 2];
        for register in &self.registers {
            histogram[usize::from(*register).min(Q + 1)] += 1;
        }
        let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
        for count in histogram[1..=Q].iter().rev() {
            z += f64::from(*count);
            z *= 0.5;
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        // 0.5 / ln 2: the estimator's constant as m grows.
        let alpha = 0.721_347_520_444_481_7;
        (alpha * m * m / z).round() as u64
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(encoding: u8) -> Vec<u8> {
        let mut bytes = b"HYLL".to_vec();
        bytes.push(encoding);
        bytes.resize(HEADER, 0);
        bytes
    }

    /// An empty HyperLogLog (one XZERO run of every register) counts 0.
    #[test]
    fn empty() {
        let mut stored = header(SPARSE);
        stored.extend([0x7f, 0xff]);
        let mut union = Union::default();
        union.add(&stored).unwrap();
        assert_eq!(union.count(), 0);
    }

    /// Sparse and dense encodings of the same registers merge to the same union; a register
    /// set in either counts once.
    #[test]
    fn encodings_agree() {
        // Registers 0 and 1 hold 2, register 70 holds 1, the rest 0.
        let mut sparse = header(SPARSE);
        sparse.push(0x80 | (1 << 2) | 1); // VAL 2, run 2
        sparse.extend([0x40, 67]); // XZERO, run 68
        sparse.push(0x80); // VAL 1, run 1
        let rest = REGISTERS - 71 - 1;
        sparse.extend([0x40 | (rest >> 8) as u8, (rest & 0xff) as u8]);
        let mut dense = header(DENSE);
        let mut registers = vec![0_u8; REGISTERS * 6 / 8 + 1];
        for (index, value) in [(0, 2_u16), (1, 2), (70, 1)] {
            let bit = index * 6;
            let word = value << (bit % 8);
            registers[bit / 8] |= (word & 0xff) as u8;
            registers[bit / 8 + 1] |= (word >> 8) as u8;
        }
        dense.extend(&registers[..REGISTERS * 6 / 8]);
        let (mut a, mut b) = (Union::default(), Union::default());
        a.add(&sparse).unwrap();
        b.add(&dense).unwrap();
        assert_eq!(a.registers, b.registers);
        assert_eq!(a.count(), 3);
        a.add(&dense).unwrap();
        assert_eq!(a.count(), 3);
    }

    /// What is not a HyperLogLog is named as such.
    #[test]
    fn refuses_other_values() {
        let mut union = Union::default();
        assert!(union.add(b"hello").is_err());
        let mut cut = header(SPARSE);
        cut.push(0x40);
        assert!(union.add(&cut).is_err());
        let short = header(SPARSE);
        assert_eq!(
            union.add(&short),
            Err(NotHyperLogLog("sparse registers do not add up"))
        );
    }
}
