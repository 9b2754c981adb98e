//! The demo township's ledger (台账): a year of issues, shaped on 邵原镇's
//! reported year ("26 issues raised, 24 closed out"). Station staff take two
//! or three findings a month into issues and accept them; the presidium
//! drafts each month's list at the month's end and issues it early the next
//! month; staff record the department's acknowledgement and answer; the
//! representative who raised it closes it out (销号) from their phone with a
//! rating. Of the last full month's issues, one waits for its raiser's
//! confirmation and one was disputed back to the department; the last
//! month's list is still a draft. In the current month a few more show the
//! side exits: new, accepted, returned, rejected, merged, and one forwarded
//! at once by its station's own list.
//!
//! Everything goes through the same commands and push mutations the web and
//! the phones use, at the time it happened. Idempotent: ids are derived from
//! the findings and months, and a step already in an issue's history is not
//! taken again.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use fieldvisit_geodata::geofence::GeofenceRules;
use fieldvisit_sync::command;
use fieldvisit_sync::findings::{self, Finding};
use fieldvisit_sync::issue_lists;
use fieldvisit_sync::issues::commands::{self as issue_commands, StepArgs, Who};
use fieldvisit_sync::issues::workflow::Action;
use fieldvisit_sync::issues::{self, IssueDetail, departments};
use fieldvisit_sync::month::{Month, shanghai};
use fieldvisit_sync::people::Role;
use fieldvisit_sync::protocol::{Mutation, MutationStatus, PushRequest, SCHEMA_VERSION};
use fieldvisit_sync::push::{PushContext, push};
use fieldvisit_sync::{Actor, Scope, SyncError};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::township::{self, NAMESPACE};

/// Issues raised in each of the eleven months before the last one (26 in all).
const PER_MONTH: [usize; 11] = [2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3];

/// The department an issue of a category is sent to.
fn department_for(category: &str) -> &'static str {
    match category {
        "financing" | "site_selection" => "发改委",
        "hiring" => "人社局",
        "power" => "供电公司",
        "fire_safety" => "消防救援大队",
        "tax" => "税务局",
        "water" => "水利局",
        "homestead_dispute" | "land_compensation" => "自然资源局",
        "traffic_safety" => "交通运输局",
        "property_management" => "住建局",
        "dust_environment" => "生态环境局",
        _ => "镇政府",
    }
}

/// The department's reply, by category.
fn answer_for(category: &str) -> &'static str {
    match category {
        "financing" => "已协调县农商行开辟绿色通道，贷款已于本月审批发放。",
        "hiring" => "人社局已将企业用工需求纳入春风行动岗位库，组织两场专场招聘会，已招录二十余人。",
        "power" => "供电公司已完成变压器增容改造，线路已更换，近期未再出现跳闸停电。",
        "fire_safety" => "消防救援大队已上门检查，督促企业清理通道、更换灭火器，复查合格。",
        "tax" => "税务分局已安排专人上门辅导留抵退税政策，企业已完成申报。",
        "water" => "水利部门已安排检修队更换老化管道，供水恢复正常。",
        "homestead_dispute" => "自然资源所会同村委会现场勘界，双方已签订调解协议。",
        "land_compensation" => "已公开征地补偿明细，并逐户上门解释政策，农户无异议。",
        "traffic_safety" => "交通运输局已在该路段增设减速带和警示标志。",
        "property_management" => "住建部门已督促物业公司更换损坏路灯，已全部恢复照明。",
        "dust_environment" => "生态环境局已责令工地覆盖裸土、安装冲洗设备，扬尘明显减少。",
        "site_selection" => "发改委已组织专家重新论证，调整选址避开耕地。",
        _ => "镇政府已协调相关部门办理完毕。",
    }
}

/// A moment of a day (Asia/Shanghai).
fn at_local(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let t = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time"));
    shanghai().from_local_datetime(&t).single().expect("a fixed offset is unambiguous").with_timezone(&Utc)
}

/// The people who act in the ledger.
struct Cast {
    presidium: Uuid,
    staff: HashMap<Uuid, Uuid>,
    stations: HashMap<Uuid, Uuid>,
    subtrees: HashMap<Uuid, Vec<Uuid>>,
    departments: HashMap<String, Uuid>,
}

impl Cast {
    fn staff_of(&self, station: Uuid) -> anyhow::Result<Who> {
        let person = *self.staff.get(&station).context("every station has staff")?;
        Ok(Who {
            person_id: person,
            role: Role::StationStaff,
            scope: Scope { stations: self.subtrees.get(&station).cloned(), person: None },
        })
    }

    fn presidium(&self) -> Who {
        Who { person_id: self.presidium, role: Role::Presidium, scope: Scope::default() }
    }
}

async fn cast(db: &PgPool) -> anyhow::Result<Cast> {
    let t = township::township();
    let presidium = t.people.iter().find(|p| p.role == Role::Presidium).context("the demo has a presidium")?.id;
    let staff: HashMap<Uuid, Uuid> =
        t.people.iter().filter(|p| p.role == Role::StationStaff).filter_map(|p| Some((p.station?, p.id))).collect();
    let stations = t.people.iter().filter_map(|p| Some((p.id, p.station?))).collect();
    let mut subtrees = HashMap::new();
    for s in &t.stations {
        subtrees.insert(s.id, fieldvisit_sync::scope::station_subtree(db, s.id).await?);
    }
    let departments =
        departments::list(db, true).await?.into_iter().map(|d| (d.name_zh, d.id)).collect::<HashMap<_, _>>();
    Ok(Cast { presidium, staff, stations, subtrees, departments })
}

/// The issue of a finding, if there is one yet.
async fn existing(db: &PgPool, id: Uuid) -> anyhow::Result<Option<IssueDetail>> {
    match issues::detail(db, &Scope::default(), id).await {
        Ok(d) => Ok(Some(d)),
        Err(SyncError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn done(issue: &IssueDetail, action: &str) -> bool {
    issue.history.iter().any(|e| e.action == action)
}

/// A finding taken into an issue at `at` by its station's staff, accepted a day later.
async fn raise(db: &PgPool, cast: &Cast, f: &Finding, at: DateTime<Utc>, accept: bool) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v5(&NAMESPACE, format!("issue:{}", f.id).as_bytes());
    let staff = cast.staff_of(f.station_id)?;
    if existing(db, id).await?.is_none() {
        let create = issue_commands::Create {
            id,
            finding_ids: vec![f.id],
            location: issue_commands::Location::default(),
            title: None,
            description: None,
            category: None,
            raiser_ids: None,
            department_id: cast.departments.get(department_for(&f.category)).copied(),
            deadline: Some(at.with_timezone(&shanghai()).date_naive() + Duration::days(45)),
            who: staff.clone(),
            at,
        };
        command::execute(db, staff.person_id, create).await.with_context(|| format!("issue from finding {}", f.id))?;
    }
    if accept {
        step(db, &staff, id, Action::Accept, StepArgs::default(), at + Duration::hours(20)).await?;
    }
    Ok(id)
}

/// Takes a desk step unless the issue's history already holds it.
async fn step(
    db: &PgPool,
    who: &Who,
    id: Uuid,
    action: Action,
    args: StepArgs,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let issue = existing(db, id).await?.context("the issue exists")?;
    if done(&issue, action.as_str()) {
        return Ok(());
    }
    let act = issue_commands::Act { issue_id: id, action, args, version: None, who: who.clone(), at };
    command::execute(db, who.person_id, act)
        .await
        .with_context(|| format!("{} on {}", action.as_str(), issue.issue.number))?;
    Ok(())
}

/// A raiser's step from their phone (`issue.confirm.v1`, `issue.dispute.v1`),
/// pushed at `at` from the raiser's ledger phone as its next mutation.
async fn from_phone(
    db: &PgPool,
    cast: &Cast,
    issue: Uuid,
    raiser: Uuid,
    (name, args): (&str, serde_json::Value),
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let station = *cast.stations.get(&raiser).context("a raiser has a station")?;
    let actor =
        Actor { person_id: raiser, representative: true, place_stations: Some(vec![station]), buckets: Vec::new() };
    let mut args = args;
    args["id"] = json!(Uuid::new_v5(&NAMESPACE, format!("issue-step:{issue}:{name}").as_bytes()));
    args["issue_id"] = json!(issue);
    let client_id = Uuid::new_v5(&NAMESPACE, format!("ledger-client:{raiser}").as_bytes());
    let last = fieldvisit_sync::push::last_mutation_ids(db, &[client_id]).await?;
    let n = last.first().map_or(0, |(_, n)| *n) + 1;
    let req = PushRequest {
        client_id,
        schema_version: SCHEMA_VERSION,
        client_time: Some(at.with_timezone(&shanghai())),
        mutations: vec![Mutation { id: n, name: name.into(), args }],
    };
    let ctx = PushContext {
        rules: GeofenceRules::default(),
        received_at: at,
        photo_max_bytes: fieldvisit_sync::photos::DEFAULT_MAX_BYTES,
    };
    let answer = push(db, &actor, &req, &ctx).await.with_context(|| format!("{name} on {issue}"))?;
    match answer.results.first() {
        Some(r) if r.status == MutationStatus::Applied || r.original == Some(MutationStatus::Applied) => Ok(()),
        other => anyhow::bail!("{name} on {issue} was not applied: {other:?}"),
    }
}

/// The month's findings in a fixed order, one per station as far as they go.
async fn pick(db: &PgPool, month: Month, n: usize) -> anyhow::Result<Vec<Finding>> {
    let filter = findings::Filter { month: Some(month), ..findings::Filter::default() };
    let all = findings::list(db, &Scope::default(), &filter, 5000).await?;
    // Not from a month's last two days, so that raising and accepting stay in its month.
    let cutoff = month.next().starts_at() - Duration::days(2);
    let all: Vec<&Finding> = all.iter().filter(|f| f.created_at < cutoff).collect();
    let mut picked: Vec<Finding> = Vec::new();
    for f in &all {
        if picked.len() < n && !picked.iter().any(|p| p.station_id == f.station_id) {
            picked.push((*f).clone());
        }
    }
    for f in &all {
        if picked.len() < n && !picked.iter().any(|p| p.id == f.id) {
            picked.push((*f).clone());
        }
    }
    Ok(picked)
}

/// What the ledger's load came to, for the banner.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ledger {
    pub issues: usize,
    pub closed_out: usize,
    pub lists: usize,
    /// The raiser of the answered issue waiting to be confirmed (销号) from the field app.
    pub waiting_raiser: Option<Uuid>,
}

/// Loads the ledger for `months` (the year of history, oldest first) after
/// the visits and findings, and the current month's few from `now`.
pub async fn load_ledger(db: &PgPool, months: &[NaiveDate], now: DateTime<Utc>) -> anyhow::Result<Ledger> {
    let cast = cast(db).await?;
    let presidium = cast.presidium();
    let months: Vec<Month> = months.iter().copied().map(Month::of_date).collect();
    let Some((&last_month, year)) = months.split_last() else { return Ok(Ledger::default()) };
    let mut out = Ledger::default();
    let mut n: i64 = 0;
    for (k, (&month, &count)) in year.iter().zip(PER_MONTH.iter()).enumerate() {
        let raised: Vec<(Uuid, Finding)> = {
            let mut v = Vec::new();
            for f in pick(db, month, count).await? {
                let at = f.created_at + Duration::hours(2);
                v.push((raise(db, &cast, &f, at, true).await?, f));
            }
            v
        };
        out.issues += raised.len();
        // The presidium's list: drafted on the month's last day, issued on the 3rd of the next.
        let list = Uuid::new_v5(&NAMESPACE, format!("issue-list:{month}").as_bytes());
        let issued_at = at_local(month.next().first_day() + Duration::days(2), 10, 0);
        if matches!(issue_lists::detail(db, None, list).await, Err(SyncError::NotFound(_))) {
            let draft = issue_lists::Draft { id: list, month, station_id: None, reach: None };
            command::execute(db, cast.presidium, draft).await.with_context(|| format!("the list of {month}"))?;
        }
        if issue_lists::detail(db, None, list).await?.list.issued_at.is_none() {
            let issue = issue_lists::IssueIt { id: list, version: None, reach: None, at: issued_at };
            command::execute(db, cast.presidium, issue)
                .await
                .with_context(|| format!("issuing the list of {month}"))?;
        }
        out.lists += 1;
        let last_of_year = k + 1 == year.len();
        for (i, (id, f)) in raised.iter().enumerate() {
            n += 10;
            let staff = cast.staff_of(f.station_id)?;
            let acknowledged = issued_at + Duration::days(2);
            step(db, &staff, *id, Action::Acknowledge, StepArgs::default(), acknowledged).await?;
            let answered = acknowledged + Duration::days(3 + i64::try_from(i).unwrap_or(0) * 4);
            let answer = StepArgs {
                note: Some(answer_for(&f.category).into()),
                answered_on: Some(answered.with_timezone(&shanghai()).date_naive()),
                ..StepArgs::default()
            };
            step(db, &staff, *id, Action::Answer, answer, answered).await?;
            let issue = existing(db, *id).await?.context("the issue exists")?;
            let (waits, disputes) = (last_of_year && i + 2 == raised.len(), last_of_year && i + 1 == raised.len());
            if done(&issue, "confirm") {
                out.closed_out += 1;
                continue;
            }
            if waits {
                out.waiting_raiser = Some(f.person_id);
                continue;
            }
            if disputes {
                if !done(&issue, "dispute") {
                    let note = "答复说已经解决，但群众反映问题仍然存在，请再核实。";
                    let args = ("issue.dispute.v1", json!({ "note": note }));
                    from_phone(db, &cast, *id, f.person_id, args, answered + Duration::days(2)).await?;
                }
                continue;
            }
            let rating = [5, 5, 4, 5, 4, 5, 3, 5][usize::try_from(n / 10).unwrap_or(0) % 8];
            let args = ("issue.confirm.v1", json!({ "rating": rating, "note": "问题已解决，群众满意。" }));
            from_phone(db, &cast, *id, f.person_id, args, answered + Duration::days(1)).await?;
            out.closed_out += 1;
        }
    }
    // The last full month's list: still a draft, carrying over what is open.
    let list = Uuid::new_v5(&NAMESPACE, format!("issue-list:{last_month}").as_bytes());
    if matches!(issue_lists::detail(db, None, list).await, Err(SyncError::NotFound(_))) {
        let draft = issue_lists::Draft { id: list, month: last_month, station_id: None, reach: None };
        command::execute(db, cast.presidium, draft).await.context("the draft list")?;
    }
    out.lists += 1;
    current_month(db, &cast, &presidium, last_month, now).await?;
    Ok(out)
}

/// A station's own list for `month` holding `issue` alone, issued at `at`.
async fn forward_at_once(
    db: &PgPool,
    cast: &Cast,
    station: Uuid,
    month: Month,
    issue: Uuid,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let staff = cast.staff_of(station)?;
    let list = Uuid::new_v5(&NAMESPACE, format!("issue-list:{month}:{station}").as_bytes());
    let reach = staff.scope.stations.clone();
    if matches!(issue_lists::detail(db, None, list).await, Err(SyncError::NotFound(_))) {
        let draft = issue_lists::Draft { id: list, month, station_id: Some(station), reach: reach.clone() };
        command::execute(db, staff.person_id, draft).await.context("a station's list")?;
    }
    if issue_lists::detail(db, None, list).await?.list.issued_at.is_none() {
        let edit = issue_lists::Edit { id: list, version: None, issue_ids: vec![issue], reach: reach.clone() };
        command::execute(db, staff.person_id, edit).await.context("a station's list")?;
        let issue_it = issue_lists::IssueIt { id: list, version: None, reach, at };
        command::execute(db, staff.person_id, issue_it).await.context("issuing a station's list")?;
    }
    Ok(())
}

/// This month's issues, from last month's findings: two new, one accepted,
/// one returned, one rejected, one merged into another, and one forwarded at
/// once by its station's own list.
async fn current_month(
    db: &PgPool,
    cast: &Cast,
    presidium: &Who,
    last: Month,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let start = last.next().starts_at();
    let picked = pick(db, last, 7).await?;
    let mut ids = Vec::new();
    for (i, f) in picked.iter().enumerate() {
        let minutes = i64::try_from(picked.len() - i).unwrap_or(0) * 10;
        let at = (now - Duration::minutes(minutes)).max(start + Duration::minutes(minutes));
        ids.push((raise(db, cast, f, at, false).await?, f, at));
    }
    for (i, (id, f, at)) in ids.iter().enumerate() {
        let staff = cast.staff_of(f.station_id)?;
        let soon = *at + Duration::minutes(2);
        match i {
            2 => step(db, &staff, *id, Action::Accept, StepArgs::default(), soon).await?,
            3 => {
                let note = Some("请补充问题发生的具体位置和现场照片。".to_owned());
                step(db, &staff, *id, Action::Return, StepArgs { note, ..StepArgs::default() }, soon).await?;
            }
            4 => {
                let note = Some("经核实，该问题已由村委会当场协调解决，不再列入问题清单。".to_owned());
                step(db, presidium, *id, Action::Reject, StepArgs { note, ..StepArgs::default() }, soon).await?;
            }
            5 => {
                let (into, ..) = ids[0];
                let args = StepArgs {
                    into: Some(into),
                    note: Some("与本月另一问题反映的是同一情况，合并办理。".into()),
                    ..StepArgs::default()
                };
                step(db, presidium, *id, Action::Merge, args, soon).await?;
            }
            6 => {
                // Sent on at once by its station's own list for this month.
                step(db, &staff, *id, Action::Accept, StepArgs::default(), soon).await?;
                forward_at_once(db, cast, f.station_id, last.next(), *id, soon + Duration::minutes(1)).await?;
            }
            _ => {}
        }
    }
    Ok(())
}
