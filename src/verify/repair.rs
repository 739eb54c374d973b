//! The ways out of a violation in a commit, in the order that leaves the least trace: drop a
//! commit nobody else has (the exact `git reset`/`git rebase`), put the file back as it was
//! before it (a revert, which verify recognises as a repair), or accept it on the record
//! (`orch verify --accept`). Each is printed so that following it literally clears the
//! violation; the tests run every one with real git.

use super::Violation;
use crate::git::history;
use crate::Result;
use gix::ObjectId;

/// What a violation is about: a task file (session.json, events.jsonl), or the commit's
/// message (its trailers), which no file restore can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    TaskFile,
    Message,
}

/// Where the repository stands: HEAD and the commits others may have (remote-tracking refs).
pub struct Undo<'r> {
    repo: &'r gix::Repository,
    head: Option<ObjectId>,
    remotes: Vec<ObjectId>,
    /// `[git] commit`: whether `orch verify --accept` commits the waiver itself.
    commits: bool,
}

fn short(id: ObjectId) -> String {
    id.to_hex_with_len(7).to_string()
}

impl<'r> Undo<'r> {
    pub fn new(repo: &'r gix::Repository, commits: bool) -> Result<Undo<'r>> {
        let head = repo.head_id().ok().map(|i| i.detach());
        let mut remotes = vec![];
        if let Ok(refs) = repo.references() {
            if let Ok(iter) = refs.prefixed("refs/remotes/") {
                for mut r in iter.flatten() {
                    if let Ok(id) = r.peel_to_id() {
                        remotes.push(id.detach());
                    }
                }
            }
        }
        Ok(Undo {
            repo,
            head,
            remotes,
            commits,
        })
    }

    /// `a` is `b` or one of its ancestors.
    fn reaches(&self, a: ObjectId, b: &[ObjectId]) -> Result<bool> {
        history::reaches(self.repo, a, b)
    }

    /// Whether a merge lies between `c` and HEAD, so a rebase must keep merges.
    fn merges_after(&self, c: ObjectId) -> Result<bool> {
        let Some(head) = self.head else {
            return Ok(false);
        };
        for id in history::range_commits(self.repo, &[head], &[c])? {
            if history::commit_tree_parents(self.repo, id)?.1.len() > 1 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `c` changed nothing but `file`, so reverting it touches nothing else.
    fn only_changes(&self, c: ObjectId, file: &str) -> Result<bool> {
        let (tree, parents, _) = history::commit_tree_parents(self.repo, c)?;
        let Some(parent) = parents.first() else {
            return Ok(false);
        };
        let ptree = history::commit_tree_parents(self.repo, *parent)?.0;
        let (mut a, mut b) = (Some(tree), Some(ptree));
        let parts: Vec<&str> = file.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let changed = history::diff_names(self.repo, a, b)?;
            let names: Vec<&str> = changed
                .iter()
                .map(|(n, _, _)| n.trim_end_matches('/'))
                .collect();
            if names.iter().any(|n| n != part) {
                return Ok(false);
            }
            if i + 1 == parts.len() {
                return Ok(true);
            }
            let sub = |t: Option<ObjectId>| -> Result<Option<ObjectId>> {
                Ok(match t {
                    Some(t) => history::child(self.repo, t, part.as_bytes())?
                        .filter(|n| n.mode.is_tree())
                        .map(|n| n.id),
                    None => None,
                })
            };
            (a, b) = (sub(a)?, sub(b)?);
        }
        Ok(true)
    }

    /// The fix for `v`, found in commit `c`; `later` commits after it changed the same task.
    pub fn fix(
        &self,
        c: ObjectId,
        v: &Violation,
        kind: ViolationKind,
        later: usize,
    ) -> Result<String> {
        let s = short(c);
        let head: Vec<ObjectId> = self.head.into_iter().collect();
        let on_head = self.reaches(c, &head)?;
        let pushed = self.reaches(c, &self.remotes)?;
        let is_merge = history::commit_tree_parents(self.repo, c)?.1.len() > 1;
        let mut undo = vec![];
        if on_head && !pushed {
            undo.push(self.drop_it(c, kind, later, &v.task)?);
        }
        if kind == ViolationKind::TaskFile {
            undo.push(self.put_back(c, v, later, is_merge)?);
        }
        let events = format!("{}/{}/events.jsonl", super::TASKS_DIR, v.task);
        let accept = if self.commits {
            format!("keep it and record a waiver: `orch verify --accept {s} --reason \"<why>\"`")
        } else {
            format!(
                "keep it and record a waiver: `orch verify --accept {s} --reason \"<why>\" && git commit -m \"orch({}): waiver\" -- {events}`",
                v.task
            )
        };
        let redo = if v.redo.is_empty() {
            String::new()
        } else {
            format!(" — then {}", v.redo)
        };
        if undo.is_empty() {
            return Ok(format!(
                "{accept} (it is pushed, so rewriting it is not offered)"
            ));
        }
        Ok(format!("{}{redo}; or {accept}", undo.join("; or ")))
    }

    /// Dropping a commit nobody else has: the exact command for where it sits.
    fn drop_it(
        &self,
        c: ObjectId,
        kind: ViolationKind,
        later: usize,
        task: &str,
    ) -> Result<String> {
        let s = short(c);
        if Some(c) == self.head {
            return Ok(match kind {
                ViolationKind::Message => {
                    "drop the commit, which is not pushed, keeping its changes staged: `git reset --soft HEAD~1`, and commit them again".to_string()
                }
                ViolationKind::TaskFile => {
                    "drop the commit, which is not pushed: `git reset --keep HEAD~1`".to_string()
                }
            });
        }
        if later == 0 || kind == ViolationKind::Message {
            let keep = if self.merges_after(c)? {
                " --rebase-merges"
            } else {
                ""
            };
            return Ok(format!(
                "drop the commit, which is not pushed (its changes go with it): `git rebase{keep} --onto {s}~1 {s}`"
            ));
        }
        Ok(format!(
            "drop it and the {later} later commit{} that changed {task}, none of them pushed: `git reset --keep {s}~1`",
            if later == 1 { "" } else { "s" }
        ))
    }

    /// Putting the file back as it was before `c`: `git revert` when that is all `c` did and
    /// nothing came after, else a commit of the file as it was.
    fn put_back(&self, c: ObjectId, v: &Violation, later: usize, is_merge: bool) -> Result<String> {
        let s = short(c);
        let file = &v.file;
        if !is_merge && later == 0 && self.only_changes(c, file)? {
            return Ok(format!("revert it: `git revert --no-edit {s}`"));
        }
        let parent = *history::commit_tree_parents(self.repo, c)?
            .1
            .first()
            .unwrap_or(&c);
        let ptree = history::commit_tree_parents(self.repo, parent)?.0;
        let existed = history::entry_at(self.repo, ptree, file)?.is_some();
        let name = file.rsplit('/').next().unwrap_or(file);
        let msg = format!("orch({}): restore {name} as before {s}", v.task);
        Ok(if existed {
            format!(
                "put the file back as it was before it: `git restore --source={s}~1 --staged --worktree -- {file} && git commit -m \"{msg}\" -- {file}`"
            )
        } else {
            format!(
                "remove the file it added: `git rm -q -- {file} && git commit -m \"{msg}\" -- {file}`"
            )
        })
    }
}
