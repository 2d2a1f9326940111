//! Uses each dependency once so the binary really links them; exists only
//! as a labeled-set fixture (see SOURCE.md).
use arrayref::array_ref;
use owning_ref::BoxRef;
use smallvec::SmallVec;

fn main() {
    let values: SmallVec<[u32; 4]> = SmallVec::from_slice(&[1, 2, 3]);
    let owned = BoxRef::new(Box::new([4u8, 5, 6, 7])).map(|a| &a[1..]);
    let head = array_ref![owned, 0, 2];
    let timeout = humantime::parse_duration("1m 30s").map_or(0, |d| d.as_secs());
    println!("{values:?} {head:?} {timeout}");
}
