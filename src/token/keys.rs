//! Fernet key repositories in exactly Keystone's layout
//! (`keystone/common/fernet_utils.py`): files named `0..N`, each holding 44
//! characters of urlsafe base64 and no newline; `0` is the staged key, the
//! highest number the primary; every key decrypts. Used for both the token
//! and the credential repository.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use fernet::{Fernet, MultiFernet};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::error::Error;

/// What [`KeyRepository::adopt`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyAdoption {
    pub changed: bool,
    pub from_keystone: usize,
    /// Keys this repository had before, kept as secondaries.
    pub kept: usize,
    pub primary: u64,
}

/// A key repository directory and its retention rule.
#[derive(Debug, Clone)]
pub struct KeyRepository {
    dir: PathBuf,
    max_active_keys: usize,
}

/// The keys read from a repository, primary first.
pub struct LoadedKeys {
    /// `(number, key text)`, highest number first; the staged key 0 last.
    keys: Vec<(u64, Zeroizing<String>)>,
}

impl LoadedKeys {
    /// Encrypts with the primary key; decrypts with any.
    pub fn multi_fernet(&self) -> Result<MultiFernet, Error> {
        let fernets = self
            .keys
            .iter()
            .map(|(n, text)| {
                Fernet::new(text.trim())
                    .ok_or_else(|| Error::Config(format!("key file {n} is not a valid Fernet key")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if fernets.is_empty() {
            return Err(Error::Config("the key repository holds no keys".into()));
        }
        Ok(MultiFernet::new(fernets))
    }

    /// The primary key, to issue with.
    fn sealing_key(&self) -> Result<super::seal::SealingKey, Error> {
        let (n, text) = self
            .keys
            .first()
            .ok_or_else(|| Error::Config("the key repository holds no keys".into()))?;
        super::seal::SealingKey::from_text(text.trim())
            .ok_or_else(|| Error::Config(format!("key file {n} is not a valid Fernet key")))
    }

    /// Keystone's `key_hash`: SHA-1 hex of the primary key's base64 text.
    pub fn primary_key_hash(&self) -> Option<String> {
        self.keys
            .first()
            .map(|(_, text)| hex::encode(Sha1::digest(text.trim().as_bytes())))
    }

    /// The key numbers, primary first.
    pub fn numbers(&self) -> Vec<u64> {
        self.keys.iter().map(|(n, _)| *n).collect()
    }

    /// The key texts, primary first.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(_, t)| t.trim())
    }
}

/// The keys of a repository as a running server holds them: swapped in
/// place when the repository changes on disk, so rotation needs no restart.
pub struct KeyRing {
    repository: KeyRepository,
    current: RwLock<Arc<RingState>>,
    /// Moves each time the key set changes, so that what was checked
    /// with the old keys (a validated token kept in a cache) is checked
    /// again with the new ones.
    generation: std::sync::atomic::AtomicU64,
}

struct RingState {
    fernet: Arc<MultiFernet>,
    /// The primary key, which issues.
    sealing: super::seal::SealingKey,
    primary_hash: String,
    /// A digest of every key's number and text: a key replaced under the
    /// same number is a change too.
    fingerprint: [u8; 32],
}

impl RingState {
    fn from_loaded(loaded: &LoadedKeys) -> Result<Self, Error> {
        let mut digest = sha2::Sha256::new();
        for (number, text) in &loaded.keys {
            digest.update(number.to_le_bytes());
            digest.update(text.trim().as_bytes());
            digest.update([0]);
        }
        Ok(RingState {
            fernet: Arc::new(loaded.multi_fernet()?),
            sealing: loaded.sealing_key()?,
            primary_hash: loaded.primary_key_hash().unwrap_or_default(),
            fingerprint: digest.finalize().into(),
        })
    }
}

impl KeyRing {
    pub fn new(repository: KeyRepository) -> Result<Self, Error> {
        let state = RingState::from_loaded(&repository.load()?)?;
        Ok(KeyRing {
            repository,
            current: RwLock::new(Arc::new(state)),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Which key set is loaded: moves whenever it changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn state(&self) -> Result<Arc<RingState>, Error> {
        self.current
            .read()
            .map(|s| Arc::clone(&s))
            .map_err(|_| Error::Internal("key ring lock poisoned".into()))
    }

    /// Encrypts with the primary key, decrypts with any.
    pub fn fernet(&self) -> Result<Arc<MultiFernet>, Error> {
        Ok(Arc::clone(&self.state()?.fernet))
    }

    /// `plaintext` sealed with the primary key at `at` (Unix seconds),
    /// without padding, under an IV from the thread's CSPRNG.
    pub fn seal(&self, plaintext: &[u8], at: u64) -> Result<String, Error> {
        let mut iv = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut iv);
        self.state()?
            .sealing
            .seal(plaintext, at, &iv)
            .ok_or_else(|| Error::Internal("cannot seal a token".into()))
    }

    /// Keystone's `key_hash` of the primary key.
    pub fn primary_key_hash(&self) -> Result<String, Error> {
        Ok(self.state()?.primary_hash.clone())
    }

    /// Re-reads the repository; true when the key set changed. On error the
    /// old keys stay in use.
    pub fn reload(&self) -> Result<bool, Error> {
        let next = RingState::from_loaded(&self.repository.load()?)?;
        let changed = self.state()?.fingerprint != next.fingerprint;
        if let Ok(mut slot) = self.current.write() {
            *slot = Arc::new(next);
        }
        if changed {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(changed)
    }

    pub fn repository(&self) -> &KeyRepository {
        &self.repository
    }
}

impl KeyRepository {
    pub fn new(dir: impl Into<PathBuf>, max_active_keys: usize) -> Self {
        KeyRepository {
            dir: dir.into(),
            max_active_keys: max_active_keys.max(1),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when the repository exists and holds at least one key.
    pub fn is_initialized(&self) -> bool {
        self.key_numbers().map(|n| !n.is_empty()).unwrap_or(false)
    }

    /// `fernet_setup`: creates the directory (0700) and, if key 0 does not
    /// exist, a staged key and one rotation, giving `{0, 1}`.
    pub fn setup(&self) -> Result<(), Error> {
        self.create_dir()?;
        if self.dir.join("0").exists() {
            return Ok(());
        }
        self.write_new_key("0")?;
        self.rotate().map(|_| ())
    }

    /// `fernet_rotate`: the staged key becomes the new primary, a new
    /// staged key is written, and the oldest keys past `max_active_keys`
    /// are removed. Returns the new primary's number.
    pub fn rotate(&self) -> Result<u64, Error> {
        self.create_dir()?;
        let numbers = self.key_numbers()?;
        if !numbers.contains(&0) {
            // Keystone creates a staged key first when it is missing.
            self.write_new_key("0")?;
        }
        let numbers = self.key_numbers()?;
        let new_primary = numbers.iter().copied().max().unwrap_or(0) + 1;
        self.write_new_key("0.tmp")?;
        fs::rename(self.dir.join("0"), self.dir.join(new_primary.to_string()))
            .map_err(|e| self.io_error("promote the staged key", e))?;
        fs::rename(self.dir.join("0.tmp"), self.dir.join("0"))
            .map_err(|e| self.io_error("stage a new key", e))?;
        self.sync_dir()?;
        // Keep the staged key, the new primary, and max_active_keys - 2
        // older keys: the number of keys never exceeds max_active_keys.
        let mut old: Vec<u64> = self
            .key_numbers()?
            .into_iter()
            .filter(|n| *n != 0 && *n != new_primary)
            .collect();
        old.sort_unstable();
        let keep_old = self.max_active_keys.saturating_sub(2);
        while old.len() > keep_old {
            let victim = old.remove(0);
            fs::remove_file(self.dir.join(victim.to_string()))
                .map_err(|e| self.io_error("remove an expired key", e))?;
        }
        Ok(new_primary)
    }

    /// Takes over another repository's keys (Keystone's, on import) so that
    /// every token they issued validates here, and their staged key stays
    /// the next primary. Keys this repository had that the other lacks are
    /// kept as secondaries, so Ironstone's own earlier tokens validate too.
    /// With none of those, the result is the other repository file for file,
    /// which lets both services share it. The directory is swapped whole;
    /// running servers pick the keys up on their next reload.
    pub fn adopt(&self, other: &KeyRepository) -> Result<KeyAdoption, Error> {
        let theirs = other.load()?;
        let ours = if self.is_initialized() {
            Some(self.load()?)
        } else {
            None
        };
        let their_texts: Vec<&str> = theirs.texts().collect();
        // Our staged key never encrypted anything, so it is not kept.
        let mut kept: Vec<(u64, &str)> = ours
            .iter()
            .flat_map(|o| o.keys.iter())
            .filter(|(n, t)| *n != 0 && !their_texts.contains(&t.trim()))
            .map(|(n, t)| (*n, t.trim()))
            .collect();
        kept.sort_unstable();
        let mut their_keys: Vec<(u64, &str)> =
            theirs.keys.iter().map(|(n, t)| (*n, t.trim())).collect();
        their_keys.sort_unstable();
        let layout: Vec<(u64, &str)> = if kept.is_empty() {
            their_keys.clone()
        } else {
            // 0 = their staged key, then our kept keys, then theirs in
            // order, so their primary is still the highest number.
            let mut layout = Vec::new();
            if let Some((_, staged)) = their_keys.iter().find(|(n, _)| *n == 0) {
                layout.push((0, *staged));
            }
            let secondaries = kept
                .iter()
                .chain(their_keys.iter().filter(|(n, _)| *n != 0));
            for (number, (_, text)) in (1..).zip(secondaries) {
                layout.push((number, *text));
            }
            layout
        };
        let primary = layout.iter().map(|(n, _)| *n).max().unwrap_or(0);
        let mut current: Vec<(u64, &str)> = ours
            .iter()
            .flat_map(|o| o.keys.iter())
            .map(|(n, t)| (*n, t.trim()))
            .collect();
        current.sort_unstable();
        let adoption = KeyAdoption {
            changed: current != layout,
            from_keystone: their_keys.len(),
            kept: kept.len(),
            primary,
        };
        if adoption.changed {
            self.replace_with(&layout)?;
        }
        Ok(adoption)
    }

    /// The sibling directories of a swap: the new keys being written, and
    /// the old ones set aside while the new are put in place.
    fn swap_dirs(&self) -> (PathBuf, PathBuf) {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "keys".into());
        (
            self.dir.with_file_name(format!(".{name}.new")),
            self.dir.with_file_name(format!(".{name}.old")),
        )
    }

    /// Writes `layout` into a sibling directory and swaps it in. Killed at
    /// any point, it leaves either the old keys in place or, between its
    /// two renames, a complete new set that the next reader puts in place
    /// ([`Self::finish_interrupted_swap`]).
    fn replace_with(&self, layout: &[(u64, &str)]) -> Result<(), Error> {
        self.finish_interrupted_swap()?;
        let (staging, retired) = self.swap_dirs();
        let staging = KeyRepository::new(staging, 1);
        let _ = fs::remove_dir_all(&staging.dir);
        let _ = fs::remove_dir_all(&retired);
        staging.create_dir()?;
        for (n, text) in layout {
            staging.write_key(&n.to_string(), text)?;
        }
        staging.sync_dir()?;
        if self.dir.exists() {
            fs::rename(&self.dir, &retired)
                .map_err(|e| self.io_error("set the old keys aside", e))?;
        }
        fs::rename(&staging.dir, &self.dir)
            .map_err(|e| self.io_error("install the new keys", e))?;
        self.sync_parent()?;
        let _ = fs::remove_dir_all(&retired);
        Ok(())
    }

    /// A swap killed between its two renames leaves no repository, the old
    /// keys set aside and the new ones complete (they are written and
    /// synced before the old are moved): the new are put in place. Without
    /// them, the old are put back. Nothing is done while the repository
    /// exists, or when nothing was set aside (a repository never made).
    fn finish_interrupted_swap(&self) -> Result<(), Error> {
        let (staging, retired) = self.swap_dirs();
        if self.dir.exists() || !retired.is_dir() {
            return Ok(());
        }
        let (from, what) = if staging.is_dir() {
            (staging, "install the new keys of an interrupted swap")
        } else {
            (retired.clone(), "put back the keys of an interrupted swap")
        };
        fs::rename(&from, &self.dir).map_err(|e| self.io_error(what, e))?;
        self.sync_parent()?;
        let _ = fs::remove_dir_all(&retired);
        tracing::warn!(dir = %self.dir.display(), "finished a key swap that was interrupted");
        Ok(())
    }

    /// Makes the renames in the repository survive a power loss.
    fn sync_dir(&self) -> Result<(), Error> {
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.io_error("sync the directory", e))
    }

    /// Makes the renames of the repository itself survive a power loss.
    fn sync_parent(&self) -> Result<(), Error> {
        match self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => fs::File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io_error("sync the parent directory", e)),
            None => Ok(()),
        }
    }

    /// Reads every key, primary (highest number) first.
    pub fn load(&self) -> Result<LoadedKeys, Error> {
        let mut numbers = self.key_numbers()?;
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        let mut keys = Vec::with_capacity(numbers.len());
        for n in numbers {
            let text = Zeroizing::new(
                fs::read_to_string(self.dir.join(n.to_string()))
                    .map_err(|e| self.io_error("read a key", e))?,
            );
            if text.trim().is_empty() {
                tracing::warn!(key = n, dir = %self.dir.display(), "skipping empty key file");
                continue;
            }
            keys.push((n, text));
        }
        if keys.is_empty() {
            return Err(Error::Config(format!(
                "key repository {} is missing or empty: run `ironstone fernet setup` (or `credential setup`)",
                self.dir.display()
            )));
        }
        Ok(LoadedKeys { keys })
    }

    fn key_numbers(&self) -> Result<Vec<u64>, Error> {
        self.finish_interrupted_swap()?;
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io_error("list keys", e)),
        };
        let mut numbers = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io_error("list keys", e))?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u64>().ok())
            {
                numbers.push(n);
            }
        }
        Ok(numbers)
    }

    fn create_dir(&self) -> Result<(), Error> {
        self.finish_interrupted_swap()?;
        fs::create_dir_all(&self.dir).map_err(|e| self.io_error("create the directory", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| self.io_error("restrict the directory", e))?;
        }
        Ok(())
    }

    fn write_new_key(&self, name: &str) -> Result<(), Error> {
        let key = Zeroizing::new(Fernet::generate_key());
        self.write_key(name, &key)
    }

    /// Writes a key file whole or not at all: under a name no reader
    /// takes for a key, synced, then renamed (a key file cut short by a
    /// crash would otherwise be read as a key).
    fn write_key(&self, name: &str, key: &str) -> Result<(), Error> {
        let path = self.dir.join(format!(".{name}.partial"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .map_err(|e| self.io_error("write a key", e))?;
        file.write_all(key.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| self.io_error("write a key", e))?;
        fs::rename(&path, self.dir.join(name)).map_err(|e| self.io_error("write a key", e))
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Config(format!("cannot {what} in {}: {e}", self.dir.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sorted(repo: &KeyRepository) -> Vec<u64> {
        let mut n = repo.key_numbers().unwrap();
        n.sort_unstable();
        n
    }

    fn contents(repo: &KeyRepository) -> Vec<(u64, String)> {
        let mut keys: Vec<(u64, String)> = repo
            .load()
            .unwrap()
            .keys
            .iter()
            .map(|(n, t)| (*n, t.trim().to_string()))
            .collect();
        keys.sort();
        keys
    }

    /// The states a kill (SIGKILL, a crash) can leave between the steps
    /// of `rotate`, `setup` and a swap, built on disk: each loads, keeps
    /// the keys that encrypted something, and the next rotation works.
    #[test]
    fn every_state_a_killed_rotation_leaves_loads_and_rotates_on() {
        let dir = tempfile::tempdir().unwrap();
        let repo = KeyRepository::new(dir.path().join("keys"), 3);
        repo.setup().unwrap();
        let primary = |r: &KeyRepository| r.load().unwrap().keys[0].clone();
        let (number, text) = primary(&repo);
        // Killed while writing the next staged key: a partial file.
        fs::write(repo.dir.join(".0.tmp.partial"), "cut sh").unwrap();
        assert_eq!(primary(&repo), (number, text.clone()));
        // Killed after promoting the staged key, before the new one took
        // its place: no key 0, a complete 0.tmp.
        repo.write_key("0.tmp", &Fernet::generate_key()).unwrap();
        fs::rename(repo.dir.join("0"), repo.dir.join((number + 1).to_string())).unwrap();
        let promoted = primary(&repo);
        assert_eq!(promoted.0, number + 1);
        assert!(sorted(&repo).contains(&number), "the old primary is kept");
        let next = repo.rotate().unwrap();
        assert_eq!(next, number + 2);
        assert!(sorted(&repo).contains(&(number + 1)), "{:?}", sorted(&repo));
        assert!(sorted(&repo).contains(&0));
        // Killed while writing a missing staged key: nothing half-written
        // is taken for a key.
        fs::remove_file(repo.dir.join("0")).unwrap();
        fs::write(repo.dir.join(".0.partial"), "").unwrap();
        assert!(!sorted(&repo).contains(&0));
        repo.rotate().unwrap();
        assert!(repo
            .load()
            .unwrap()
            .keys
            .iter()
            .all(|(_, t)| !t.trim().is_empty()));
    }

    /// A swap (an import's adoption) killed between its two renames: the
    /// repository is gone, the old keys set aside, the new complete. The
    /// next reader puts the new in place; without them, the old go back.
    #[test]
    fn a_swap_killed_between_its_renames_is_finished_by_the_next_reader() {
        let dir = tempfile::tempdir().unwrap();
        let repo = KeyRepository::new(dir.path().join("keys"), 3);
        repo.setup().unwrap();
        let (staging, retired) = repo.swap_dirs();
        let new_keys = KeyRepository::new(&staging, 3);
        new_keys.setup().unwrap();
        let new = contents(&new_keys);
        fs::rename(&repo.dir, &retired).unwrap();
        assert!(repo.is_initialized());
        assert_eq!(contents(&repo), new);
        assert!(!retired.exists() && !staging.exists());

        // Killed before the new keys were complete: the old come back.
        fs::rename(&repo.dir, &retired).unwrap();
        assert_eq!(contents(&repo), new, "the set aside keys are put back");
        // A repository never made stays unmade: nothing to finish.
        let fresh = KeyRepository::new(dir.path().join("fresh"), 3);
        assert!(!fresh.is_initialized());
    }

    #[test]
    fn adopting_into_an_empty_repository_copies_it_file_for_file() {
        let dir = tempfile::tempdir().unwrap();
        let keystone = KeyRepository::new(dir.path().join("keystone"), 3);
        keystone.setup().unwrap();
        keystone.rotate().unwrap();
        let ours = KeyRepository::new(dir.path().join("ours"), 3);
        let first = ours.adopt(&keystone).unwrap();
        assert!(first.changed);
        assert_eq!((first.from_keystone, first.kept, first.primary), (3, 0, 2));
        assert_eq!(contents(&ours), contents(&keystone));
        let again = ours.adopt(&keystone).unwrap();
        assert!(!again.changed, "adoption is idempotent");
        assert_eq!(contents(&ours), contents(&keystone));
    }

    #[test]
    fn adopting_keeps_our_keys_and_their_primary_and_staged_key() {
        let dir = tempfile::tempdir().unwrap();
        let keystone = KeyRepository::new(dir.path().join("keystone"), 3);
        keystone.setup().unwrap();
        keystone.rotate().unwrap();
        let ours = KeyRepository::new(dir.path().join("ours"), 3);
        ours.setup().unwrap();
        let our_token = ours
            .load()
            .unwrap()
            .multi_fernet()
            .unwrap()
            .encrypt(b"ours");
        let their = keystone.load().unwrap();
        let their_token = their.multi_fernet().unwrap().encrypt(b"theirs");
        let their_staged = contents(&keystone)[0].1.clone();

        let adoption = ours.adopt(&keystone).unwrap();
        assert!(adoption.changed);
        assert_eq!(adoption.kept, 1, "our primary stays as a secondary");
        let merged = ours.load().unwrap();
        let fernet = merged.multi_fernet().unwrap();
        assert_eq!(fernet.decrypt(&our_token).unwrap(), b"ours");
        assert_eq!(fernet.decrypt(&their_token).unwrap(), b"theirs");
        // Their primary encrypts; their staged key is still staged.
        assert_eq!(merged.primary_key_hash(), their.primary_key_hash());
        assert_eq!(contents(&ours)[0], (0, their_staged));
        assert_eq!(merged.numbers(), vec![3, 2, 1, 0]);
        assert!(!ours.adopt(&keystone).unwrap().changed);
        // No leftovers beside the repository.
        let siblings: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(siblings.len(), 2, "{siblings:?}");
    }

    #[test]
    fn setup_and_rotation_follow_keystone() {
        let dir = tempfile::tempdir().unwrap();
        let repo = KeyRepository::new(dir.path().join("keys"), 3);
        repo.setup().unwrap();
        assert_eq!(sorted(&repo), vec![0, 1]);
        repo.setup().unwrap();
        assert_eq!(sorted(&repo), vec![0, 1], "setup is idempotent");
        repo.rotate().unwrap();
        assert_eq!(sorted(&repo), vec![0, 1, 2]);
        repo.rotate().unwrap();
        assert_eq!(sorted(&repo), vec![0, 2, 3]);
        repo.rotate().unwrap();
        assert_eq!(sorted(&repo), vec![0, 3, 4]);
        assert_eq!(repo.load().unwrap().numbers(), vec![4, 3, 0]);
    }

    #[test]
    fn key_files_are_44_characters_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let repo = KeyRepository::new(dir.path(), 3);
        repo.setup().unwrap();
        let text = fs::read(dir.path().join("1")).unwrap();
        assert_eq!(text.len(), 44);
        assert_eq!(text[43], b'=');
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("1"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn staged_key_decrypts_after_it_is_promoted() {
        let dir = tempfile::tempdir().unwrap();
        let repo = KeyRepository::new(dir.path(), 3);
        repo.setup().unwrap();
        let before = repo.load().unwrap().multi_fernet().unwrap();
        let token = before.encrypt(b"hello");
        repo.rotate().unwrap();
        let after = repo.load().unwrap().multi_fernet().unwrap();
        assert_eq!(after.decrypt(&token).unwrap(), b"hello");
        repo.rotate().unwrap();
        repo.rotate().unwrap();
        let much_later = repo.load().unwrap().multi_fernet().unwrap();
        assert!(
            much_later.decrypt(&token).is_err(),
            "a purged key no longer decrypts"
        );
    }

    #[test]
    fn key_hash_is_sha1_of_the_text() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("1"),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .unwrap();
        fs::write(
            dir.path().join("0"),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        )
        .unwrap();
        let keys = KeyRepository::new(dir.path(), 3).load().unwrap();
        assert_eq!(
            keys.primary_key_hash().unwrap(),
            hex::encode(Sha1::digest(
                b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
            ))
        );
        assert!(
            keys.multi_fernet().is_ok(),
            "a trailing newline is tolerated"
        );
    }

    #[test]
    fn missing_repository_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeyRepository::new(dir.path().join("nope"), 3)
            .load()
            .err()
            .unwrap();
        assert!(err.to_string().contains("fernet setup"));
    }
}
