//! The tab choices on hand-made lists, each limit at and past its bound, the wire shapes, and
//! runs driven through `open tab`, `switch tab` and `close tab` against a simulated browser.

use super::*;
use crate::instance::Instance;
use crate::report::RunOutcome;
use crate::session::{Input, Session};
use crate::testkit::{self, instance, now};
use bridle_dsl::Verb;
use bridle_executor::engine::ActResult;

const HOME: &str = "http://127.0.0.1:4000";

fn tab(id: TabId, title: &str, url: &str) -> RunTab {
    RunTab {
        id,
        title: title.to_owned(),
        url: url.to_owned(),
    }
}

/// The run's tabs: Alpha is current, Beta was current before, the help popup never was.
fn three() -> Vec<RunTab> {
    vec![
        tab(7, "Tab Alpha", "http://127.0.0.1:4000/tabs-alpha.html"),
        tab(9, "Tab Beta", "http://127.0.0.1:4000/tabs-beta.html?x=1"),
        tab(4, "Help", "http://127.0.0.1:4000/help.html"),
    ]
}

fn contains(s: &str) -> NameMatch {
    NameMatch::Contains(s.to_owned())
}

#[test]
fn switch_picks_the_one_tab_whose_title_or_url_matches() {
    let tabs = three();
    assert_eq!(
        switch(&contains("beta"), &tabs),
        Ok(TabAction::Switch { id: 9 })
    );
    // By URL.
    assert_eq!(
        switch(&contains("help.html"), &tabs),
        Ok(TabAction::Switch { id: 4 })
    );
    // Exact: the whole title, case-sensitive, or the whole URL.
    assert_eq!(
        switch(&NameMatch::Exact("Tab  Alpha".into()), &tabs),
        Ok(TabAction::Switch { id: 7 })
    );
    assert!(switch(&NameMatch::Exact("tab alpha".into()), &tabs).is_err());
    assert_eq!(
        switch(
            &NameMatch::Exact("http://127.0.0.1:4000/help.html".into()),
            &tabs
        ),
        Ok(TabAction::Switch { id: 4 })
    );
    let regex = NameMatch::Regex {
        pattern: "^Tab B".into(),
        flags: String::new(),
    };
    assert_eq!(switch(&regex, &tabs), Ok(TabAction::Switch { id: 9 }));
    // The current tab is one of the run's tabs too: switching to it changes nothing.
    assert_eq!(
        switch(&contains("alpha"), &tabs),
        Ok(TabAction::Switch { id: 7 })
    );
}

#[test]
fn no_match_fails_listing_the_runs_tabs_only() {
    let err = switch(&contains("Inbox"), &three()).unwrap_err();
    assert_eq!(
        err,
        "no tab of the run matches ~\"Inbox\" by title or URL; the run's tabs: \
         \"Tab Alpha\" (http://127.0.0.1:4000/tabs-alpha.html), \
         \"Tab Beta\" (http://127.0.0.1:4000/tabs-beta.html?x=1), \
         \"Help\" (http://127.0.0.1:4000/help.html)"
    );
}

#[test]
fn more_than_one_match_is_ambiguous_and_lists_the_matches() {
    let err = switch(&contains("tabs-"), &three()).unwrap_err();
    assert_eq!(
        err,
        "~\"tabs-\" matches 2 of the run's tabs: \
         \"Tab Alpha\" (http://127.0.0.1:4000/tabs-alpha.html), \
         \"Tab Beta\" (http://127.0.0.1:4000/tabs-beta.html?x=1); name one of them exactly"
    );
}

#[test]
fn a_bad_regex_fails_with_its_code() {
    let bad = NameMatch::Regex {
        pattern: "(".into(),
        flags: String::new(),
    };
    let err = switch(&bad, &three()).unwrap_err();
    assert!(err.starts_with("bad-regex: "), "{err}");
}

#[test]
fn close_makes_the_most_recently_current_other_tab_current() {
    assert_eq!(close(&three()), Ok(TabAction::Close { id: 7, next: 9 }));
    assert_eq!(
        close(&three()[..2]),
        Ok(TabAction::Close { id: 7, next: 9 })
    );
}

#[test]
fn closing_the_runs_last_tab_fails() {
    let err = close(&three()[..1]).unwrap_err();
    assert!(err.contains("the run's last tab"), "{err}");
}

#[test]
fn a_list_is_read_up_to_the_limit_and_never_empty_or_with_a_tab_twice() {
    let many = |n: usize| -> Vec<RunTab> {
        (0..n)
            .map(|i| tab(i as TabId, &format!("Page {i}"), &format!("{HOME}/{i}")))
            .collect()
    };
    assert_eq!(
        switch(&contains("Page 63"), &many(MAX_RUN_TABS)),
        Ok(TabAction::Switch { id: 63 })
    );
    let err = switch(&contains("Page 63"), &many(MAX_RUN_TABS + 1)).unwrap_err();
    assert_eq!(
        err,
        "the run has 65 tabs, more than the 64 it can choose among"
    );
    assert!(close(&many(MAX_RUN_TABS + 1)).is_err());
    assert_eq!(close(&[]).unwrap_err(), "the run has no open tab");
    let mut twice = three();
    twice.push(tab(9, "Again", "http://127.0.0.1:4000/again"));
    assert_eq!(
        switch(&contains("again"), &twice).unwrap_err(),
        "the list of the run's tabs names tab 9 twice"
    );
}

#[test]
fn errors_show_a_bounded_number_of_candidates_and_characters() {
    let at_limit: Vec<RunTab> = (0..MAX_SHOWN_CANDIDATES)
        .map(|i| tab(i as TabId, "Same", &format!("{HOME}/{i}")))
        .collect();
    let err = switch(&contains("Same"), &at_limit).unwrap_err();
    assert!(err.contains(&format!("({HOME}/7)")), "{err}");
    assert!(!err.contains("more"), "{err}");
    let mut over = at_limit.clone();
    over.push(tab(8, "Same", &format!("{HOME}/8")));
    let err = switch(&contains("Same"), &over).unwrap_err();
    assert!(err.contains("9 of the run's tabs"), "{err}");
    assert!(err.contains(", and 1 more;"), "{err}");
    assert!(!err.contains(&format!("({HOME}/8)")), "{err}");

    let exactly = "t".repeat(MAX_SHOWN_CHARS);
    assert_eq!(shown(&exactly), exactly);
    let longer = "t".repeat(MAX_SHOWN_CHARS + 1);
    assert_eq!(shown(&longer), format!("{exactly}…"));
}

#[test]
fn open_is_checked_like_a_committed_navigation_before_anything_opens() {
    let origins = vec![HOME.to_owned()];
    let policy = Policy::from_toml("").unwrap();
    assert_eq!(
        open(&origins, &policy, "http://127.0.0.1:4000/b?q=1"),
        Ok(TabAction::Open {
            url: "http://127.0.0.1:4000/b?q=1".into()
        })
    );
    let err = open(&origins, &policy, "http://localhost:4000/b").unwrap_err();
    assert_eq!(
        err,
        "`open tab` to `http://localhost:4000` was refused before opening anything: \
         a page which is not among the script's origins"
    );
    assert!(open(&origins, &policy, "javascript:alert(1)").is_err());
    let denying =
        Policy::from_toml("[[site]]\norigin = \"http://127.0.0.1:4000\"\ndeny = [\"navigate\"]\n")
            .unwrap();
    let err = open(&origins, &denying, "http://127.0.0.1:4000/b").unwrap_err();
    assert!(err.contains("denies navigation"), "{err}");
}

#[test]
fn the_wire_shapes_are_strict() {
    let todo = serde_json::to_value(Todo::Tab {
        action: TabAction::Close { id: 3, next: 2 },
    })
    .unwrap();
    assert_eq!(
        todo,
        serde_json::json!({"todo": "tab", "action": {"type": "close", "id": 3, "next": 2}})
    );
    let list = serde_json::to_value(Todo::Tab {
        action: TabAction::List,
    })
    .unwrap();
    assert_eq!(
        list,
        serde_json::json!({"todo": "tab", "action": {"type": "list"}})
    );
    let input: Input = serde_json::from_value(serde_json::json!(
        {"input": "tabs", "tabs": [{"id": 1, "title": "A", "url": "http://127.0.0.1:4000/"}]}
    ))
    .unwrap();
    assert_eq!(
        input,
        Input::Tabs {
            tabs: vec![tab(1, "A", "http://127.0.0.1:4000/")]
        }
    );
    for bad in [
        serde_json::json!({"input": "tabs", "tabs": [{"id": -1, "title": "A", "url": "u"}]}),
        serde_json::json!({"input": "tabs", "tabs": [{"id": 1, "title": "A"}]}),
        serde_json::json!({"input": "tabs", "tabs": [{"id": 1, "title": "A", "url": "u", "x": 1}]}),
    ] {
        assert!(
            serde_json::from_value::<Input>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

// ---- runs through the session, against a simulated browser ----

fn token(instance: &Instance, script: &str) -> String {
    testkit::token(
        instance,
        "run-tabs",
        script,
        &[HOME],
        &[
            Verb::Navigate,
            Verb::Click,
            Verb::OpenTab,
            Verb::SwitchTab,
            Verb::CloseTab,
        ],
    )
}

/// The browser as tabs.ts keeps it: the run's tabs, the current one first, then the others
/// from the most recently current; each tab's page titled after its path.
struct Browser {
    tabs: Vec<RunTab>,
    next_id: TabId,
    /// Which tab each act and snapshot went to.
    acted_in: Vec<TabId>,
}

impl Browser {
    fn current(&self) -> &RunTab {
        &self.tabs[0]
    }

    fn make_current(&mut self, id: TabId) {
        let at = self
            .tabs
            .iter()
            .position(|t| t.id == id)
            .expect("a run tab");
        let t = self.tabs.remove(at);
        self.tabs.insert(0, t);
    }

    fn page(&self) -> String {
        let t = self.current();
        serde_json::json!({"frames": [{
            "id": 0, "origin": HOME, "url": t.url, "title": t.title, "root": 1,
            "scroll": [0, 0], "viewport": [800, 600], "truncated": false,
            "nodes": [
                {"id": 1, "tag": "html", "kids": [2], "box": [0, 0, 800, 600], "visible": true},
                {"id": 2, "tag": "body", "kids": [3], "box": [0, 0, 800, 600], "visible": true},
                {"id": 3, "tag": "button", "kids": ["Count"], "box": [10, 10, 80, 20], "visible": true, "hit": true}
            ]
        }]})
        .to_string()
    }

    fn answer(&mut self, todo: &Todo) -> Input {
        let acted = Input::Acted {
            result: ActResult::done(),
        };
        match todo {
            Todo::Snapshot { .. } if self.current().url == "about:blank" => Input::Blank,
            Todo::Snapshot { .. } => Input::Snapshot {
                snapshot: self.page(),
            },
            Todo::Navigate { action } => {
                let Action::Navigate { url } = action else {
                    panic!("{action:?}")
                };
                let title = url.rsplit('/').next().unwrap_or("").to_owned();
                self.tabs[0].url = url.clone();
                self.tabs[0].title = title;
                acted
            }
            Todo::Act { .. } => {
                self.acted_in.push(self.current().id);
                acted
            }
            Todo::Tab { action } => match action {
                TabAction::Open { url } => {
                    self.next_id += 1;
                    let title = url.rsplit('/').next().unwrap_or("").to_owned();
                    self.tabs.insert(0, tab(self.next_id, &title, url));
                    acted
                }
                TabAction::List => Input::Tabs {
                    tabs: self.tabs.clone(),
                },
                TabAction::Switch { id } => {
                    self.make_current(*id);
                    acted
                }
                TabAction::Close { id, next } => {
                    assert_eq!(*id, self.current().id, "only the current tab is closed");
                    self.tabs.remove(0);
                    self.make_current(*next);
                    acted
                }
            },
            other => panic!("unexpected todo {other:?}"),
        }
    }
}

/// Runs `steps` in a simulated browser whose first tab is blank; the result, every todo and
/// the browser at the end. Reads (`title`, `url`) tell which tab the snapshots came from.
fn run(steps: &str) -> (crate::report::RunResult, Vec<Todo>, Browser, Instance) {
    let script = format!("bridle 1\ngoal \"Use tabs\"\norigins \"{HOME}\"\n\n{steps}");
    let mut instance = instance();
    let token = token(&instance, &script);
    let (mut session, mut todo): (Session, Todo) =
        instance.start_run(&script, &token, &now()).unwrap();
    let mut browser = Browser {
        tabs: vec![tab(1, "", "about:blank")],
        next_id: 1,
        acted_in: Vec::new(),
    };
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen.push(todo.clone());
        if let Todo::Done { result } = &todo {
            return ((**result).clone(), seen, browser, instance);
        }
        let input = browser.answer(&todo);
        todo = instance.step_run(&mut session, input, &now());
    }
    panic!("the run did not end: {seen:?}");
}

fn verifies(instance: &Instance) {
    testkit::verified_log(instance);
}

#[test]
fn a_run_opens_a_tab_reads_it_switches_back_and_closes_it() {
    let (result, todos, browser, instance) = run(concat!(
        "navigate \"http://127.0.0.1:4000/alpha\"\n",
        "let a = title\n",
        "open tab \"http://127.0.0.1:4000/beta\"\n",
        "let b = title\n",
        "switch tab ~\"alpha\"\n",
        "let c = title\n",
        "switch tab \"beta\"\n",
        "close tab\n",
        "let d = title\n",
        "let u = url\n",
        "return \"{a} {b} {c} {d} {u}\"\n",
    ));
    assert_eq!(result.outcome, RunOutcome::Completed, "{:?}", result.error);
    // Alpha (tab 1), the new tab 2 (beta), alpha again, and alpha once beta was closed.
    assert_eq!(
        result.value,
        serde_json::json!("alpha beta alpha alpha http://127.0.0.1:4000/alpha")
    );
    assert_eq!(
        browser.tabs,
        vec![tab(1, "alpha", "http://127.0.0.1:4000/alpha")]
    );
    let tab_todos: Vec<&TabAction> = todos
        .iter()
        .filter_map(|t| match t {
            Todo::Tab { action } => Some(action),
            _ => None,
        })
        .collect();
    assert_eq!(
        tab_todos,
        vec![
            &TabAction::Open {
                url: "http://127.0.0.1:4000/beta".into()
            },
            &TabAction::List,
            &TabAction::Switch { id: 1 },
            &TabAction::List,
            &TabAction::Switch { id: 2 },
            &TabAction::List,
            &TabAction::Close { id: 2, next: 1 },
        ]
    );
    // The step records stay as the engine writes them.
    let verbs: Vec<(Verb, bool)> = result.steps.iter().map(|s| (s.verb, s.ok)).collect();
    assert!(verbs.contains(&(Verb::OpenTab, true)), "{verbs:?}");
    assert!(verbs.contains(&(Verb::SwitchTab, true)), "{verbs:?}");
    assert!(verbs.contains(&(Verb::CloseTab, true)), "{verbs:?}");
    verifies(&instance);
}

#[test]
fn a_switch_matching_no_tab_or_several_fails_the_step_and_acts_on_nothing() {
    let (result, todos, browser, instance) = run(concat!(
        "navigate \"http://127.0.0.1:4000/alpha\"\n",
        "switch tab ~\"inbox\"\n",
        "click button \"Count\"\n",
    ));
    assert_eq!(result.outcome, RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, "act-failed", "{}", error.message);
    assert!(
        error
            .message
            .contains("no tab of the run matches ~\"inbox\""),
        "{}",
        error.message
    );
    assert!(browser.acted_in.is_empty());
    assert!(!todos.iter().any(|t| matches!(
        t,
        Todo::Tab {
            action: TabAction::Switch { .. }
        }
    )));
    verifies(&instance);

    let (result, _, browser, _) = run(concat!(
        "navigate \"http://127.0.0.1:4000/alpha\"\n",
        "open tab \"http://127.0.0.1:4000/alpha-2\"\n",
        "switch tab ~\"alpha\"\n",
        "click button \"Count\"\n",
    ));
    let error = result.error.unwrap();
    assert!(
        error
            .message
            .contains("~\"alpha\" matches 2 of the run's tabs: "),
        "{}",
        error.message
    );
    assert!(browser.acted_in.is_empty());
}

#[test]
fn closing_the_runs_last_tab_fails_the_step_and_closes_nothing() {
    let (result, todos, browser, instance) = run(concat!(
        "navigate \"http://127.0.0.1:4000/alpha\"\n",
        "close tab\n",
    ));
    assert_eq!(result.outcome, RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, "act-failed");
    assert!(error.message.contains("last tab"), "{}", error.message);
    assert!(!todos.iter().any(|t| matches!(
        t,
        Todo::Tab {
            action: TabAction::Close { .. }
        }
    )));
    assert_eq!(browser.tabs.len(), 1);
    verifies(&instance);
}

#[test]
fn a_tab_list_answering_another_step_is_a_bad_response() {
    let script = format!(
        "bridle 1\ngoal \"Use tabs\"\norigins \"{HOME}\"\n\nnavigate \"{HOME}/alpha\"\nreturn \"done\"\n"
    );
    let mut instance = instance();
    let token = token(&instance, &script);
    let (mut session, mut todo) = instance.start_run(&script, &token, &now()).unwrap();
    while !matches!(todo, Todo::Navigate { .. }) {
        todo = instance.step_run(&mut session, Input::Blank, &now());
    }
    let todo = instance.step_run(
        &mut session,
        Input::Tabs {
            tabs: vec![tab(1, "", "about:blank")],
        },
        &now(),
    );
    let Todo::Done { result } = todo else {
        panic!("{todo:?}")
    };
    assert_eq!(result.outcome, RunOutcome::Failed);
    verifies(&instance);
}
