import {
  type ALERT_EVENTS,
  type CHANNELS,
  LANGUAGES,
  type Language,
  type PRIORITIES,
  type ROLES,
  type STAGES,
  type TASK_TYPES,
  type WEEKDAYS,
} from '@leadflow/core';
import { type Child, type Html, html } from './html';

/**
 * The console's words in English, Korean and Thai, and the formatters of dates (in the viewer's time zone),
 * durations, numbers and money, all through `Intl`. A language is chosen from the switch (a cookie), then
 * the user's own setting, then `Accept-Language`.
 */

type Labels<T extends readonly string[]> = Readonly<Record<T[number], string>>;

export interface Messages {
  readonly languageName: string;
  readonly skip: string;
  readonly nav: {
    readonly label: string;
    readonly inbox: string;
    readonly search: string;
    readonly me: string;
    readonly analytics: string;
    readonly signOut: string;
  };
  readonly language: string;
  readonly signedInAs: (name: string, role: string) => string;
  readonly role: Labels<typeof ROLES>;
  readonly status: Labels<typeof STAGES>;
  readonly channel: Labels<typeof CHANNELS>;
  readonly priority: Labels<typeof PRIORITIES>;
  readonly taskType: Labels<typeof TASK_TYPES>;
  readonly alertEvent: Labels<typeof ALERT_EVENTS>;
  readonly weekday: Labels<typeof WEEKDAYS>;
  /** Timeline entry kinds; an unknown kind shows as it is stored. */
  readonly kind: Readonly<Record<string, string>>;
  readonly unavailableReason: Readonly<Record<string, string>>;
  readonly notFound: { readonly title: string; readonly body: string };
  readonly forbidden: { readonly title: string; readonly body: string };
  readonly failed: { readonly title: string; readonly body: string };
  readonly tooLarge: string;
  readonly badRequest: string;
  readonly backToInbox: string;
  readonly login: {
    readonly title: string;
    readonly localIntro: string;
    readonly signInAs: (name: string) => string;
    readonly unavailable: string;
    readonly expired: string;
    readonly failed: string;
    readonly signedOutTitle: string;
    readonly signedOut: string;
    readonly signInAgain: string;
  };
  readonly inbox: {
    readonly mine: string;
    readonly team: string;
    readonly all: string;
    readonly view: string;
    readonly viewMine: string;
    readonly viewTeam: string;
    readonly filters: string;
    readonly status: string;
    readonly channel: string;
    readonly tag: string;
    readonly anyOpen: string;
    readonly anyChannel: string;
    readonly apply: string;
    readonly none: string;
    readonly older: string;
    readonly count: (shown: string) => string;
  };
  readonly clock: {
    readonly waiting: (duration: Child) => Html;
    readonly answered: (duration: Child) => Html;
    readonly due: (time: Child) => Html;
    readonly overdue: (duration: Child) => Html;
    readonly closed: string;
  };
  readonly lead: {
    readonly noName: string;
    readonly erased: string;
    readonly owner: string;
    readonly queued: string;
    readonly priority: string;
    readonly captured: string;
    readonly clock: string;
    readonly acknowledged: (who: string, when: string) => string;
    readonly actions: string;
    readonly imOnIt: string;
    readonly changeStatus: string;
    readonly newStatus: string;
    readonly reason: string;
    readonly reasonHint: string;
    readonly amount: string;
    readonly amountHint: string;
    readonly currency: string;
    readonly save: string;
    readonly addNote: string;
    readonly note: string;
    readonly addNoteButton: string;
    readonly addTask: string;
    readonly taskType: string;
    readonly due: string;
    readonly dueHint: (timeZone: string) => string;
    readonly taskTitle: string;
    readonly addTaskButton: string;
    readonly reassign: string;
    readonly reassignTo: string;
    readonly nextAvailable: string;
    readonly reassignReason: string;
    readonly reassignButton: string;
    readonly contact: string;
    readonly identities: string;
    readonly verified: string;
    readonly claimed: string;
    readonly duplicates: string;
    readonly noDuplicates: string;
    readonly hiddenDuplicates: (count: string) => string;
    readonly otherLeads: string;
    readonly timeline: string;
    readonly tasks: string;
    readonly noTasks: string;
    readonly taskOpen: string;
    readonly taskDone: string;
    readonly message: string;
    readonly details: string;
    readonly email: string;
    readonly phone: string;
    readonly page: string;
    readonly source: string;
    readonly tags: string;
    readonly by: (who: string) => string;
    readonly done: Readonly<Record<string, string>>;
    readonly stale: string;
    readonly invalid: string;
    readonly refused: string;
    readonly openContact: string;
  };
  readonly contacts: {
    readonly title: string;
    readonly email: string;
    readonly phone: string;
    readonly region: string;
    readonly hint: string;
    readonly search: string;
    readonly results: string;
    readonly none: string;
    readonly searched: (terms: string) => string;
    readonly leads: string;
  };
  readonly me: {
    readonly title: string;
    readonly availability: string;
    readonly available: string;
    readonly unavailable: (reason: string) => string;
    readonly load: (open: string, capacity: string | undefined) => string;
    readonly outOfOffice: string;
    readonly outOfOfficeNow: (until: string) => string;
    readonly away: string;
    readonly back: string;
    readonly workingHours: string;
    readonly timeZone: string;
    readonly dayHint: string;
    readonly noHours: string;
    readonly saveHours: string;
    readonly alerts: string;
    readonly alertsHint: string;
    readonly escalationLocked: string;
    readonly saveAlerts: string;
    readonly notManager: string;
    readonly timeZoneNote: (timeZone: string) => string;
    readonly saved: string;
  };
  readonly analytics: {
    readonly title: string;
    readonly forbidden: string;
    readonly from: string;
    readonly to: string;
    readonly team: string;
    readonly allTeams: string;
    readonly show: string;
    readonly totals: (captured: string, won: string, rate: string) => string;
    readonly byChannel: string;
    readonly bySource: string;
    readonly speed: string;
    readonly breaches: string;
    readonly daily: string;
    readonly channel: string;
    readonly source: string;
    readonly captured: string;
    readonly contacted: string;
    readonly won: string;
    readonly conversion: string;
    readonly wonAmount: string;
    readonly manager: string;
    readonly samples: string;
    readonly median: string;
    readonly p90: string;
    readonly breached: string;
    readonly unacknowledged: string;
    readonly day: string;
    readonly assigned: string;
    readonly noData: string;
    readonly tableOf: (chart: string) => string;
  };
}

const en: Messages = {
  languageName: 'English',
  skip: 'Skip to the content',
  nav: {
    label: 'Console',
    inbox: 'Inbox',
    search: 'Find a contact',
    me: 'Me',
    analytics: 'Analytics',
    signOut: 'Sign out',
  },
  language: 'Language',
  signedInAs: (name, role) => `Signed in as ${name} (${role})`,
  role: { admin: 'admin', team_lead: 'team lead', manager: 'manager' },
  status: {
    new: 'New',
    contacted: 'Contacted',
    qualified: 'Qualified',
    proposal: 'Proposal',
    won: 'Won',
    lost: 'Lost',
  },
  channel: {
    web_form: 'Web form',
    phone_call: 'Phone call',
    sms: 'SMS',
    email: 'Email',
    whatsapp: 'WhatsApp',
    messenger: 'Messenger',
    instagram: 'Instagram',
    telegram: 'Telegram',
    chat: 'Chat',
  },
  priority: { urgent: 'Urgent', high: 'High', normal: 'Normal', low: 'Low' },
  taskType: { call: 'Call', meeting: 'Meeting', email: 'Email' },
  alertEvent: {
    new_lead: 'A new lead for me',
    message: 'A new message on my lead',
    sla_warning: 'A response deadline is near',
    escalation: 'Escalations (overdue leads, nobody available)',
    task_reminder: 'Task reminders',
  },
  weekday: {
    mon: 'Monday',
    tue: 'Tuesday',
    wed: 'Wednesday',
    thu: 'Thursday',
    fri: 'Friday',
    sat: 'Saturday',
    sun: 'Sunday',
  },
  kind: {
    interaction: 'Message',
    note: 'Note',
    acknowledged: 'On it',
    status_changed: 'Status changed',
    assigned: 'Assigned',
    dequeued: 'Assigned from the queue',
    task_created: 'Task',
    sla_stopped: 'Response clock stopped',
    sla_warning: 'Deadline near',
    sla_breached: 'Deadline missed',
    escalated: 'Escalated',
    merged: 'Merged',
    unmerged: 'Merge undone',
    possible_duplicate: 'Possible duplicate',
    unsubscribed: 'Unsubscribed',
    conversation_retired: 'Conversation closed',
    identity_skipped: 'Identity not linked',
    identity_unlisted: 'Identity removed',
  },
  unavailableReason: {
    inactive: 'inactive',
    out_of_office: 'out of office',
    outside_working_hours: 'outside your working hours',
    at_capacity: 'at capacity',
  },
  notFound: {
    title: 'Not found',
    body: 'There is no such lead or contact, or it is not one you may see.',
  },
  forbidden: { title: 'Not allowed', body: 'Your role cannot do this.' },
  failed: { title: 'Something went wrong', body: 'Nothing was changed. Please try again in a moment.' },
  tooLarge: 'That was too much text to send at once.',
  badRequest: 'This form was sent from another page or an old session. Please try again.',
  backToInbox: 'Back to the inbox',
  login: {
    title: 'Sign in',
    localIntro: 'This is the local system: choose a seeded user to sign in as.',
    signInAs: (name) => `Sign in as ${name}`,
    unavailable: 'Sign-in is not configured on this server.',
    expired: 'Your session has ended. Sign in again to continue where you were.',
    failed: 'Sign-in did not complete. Please try again.',
    signedOutTitle: 'Signed out',
    signedOut: 'You are signed out.',
    signInAgain: 'Sign in again',
  },
  inbox: {
    mine: 'Your open leads',
    team: "Your teams' leads",
    all: 'All leads',
    view: 'Whose leads',
    viewMine: 'Mine',
    viewTeam: 'My teams',
    filters: 'Filters',
    status: 'Status',
    channel: 'Channel',
    tag: 'Tag',
    anyOpen: 'All open',
    anyChannel: 'All channels',
    apply: 'Apply',
    none: 'No leads here. Nice work.',
    older: 'Older leads',
    count: (shown) => `${shown} shown; urgent and overdue first, then newest.`,
  },
  clock: {
    waiting: (duration) => html`Waiting ${duration}`,
    answered: (duration) => html`Answered after ${duration}`,
    due: (time) => html`due ${time}`,
    overdue: (duration) => html`overdue by ${duration}`,
    closed: 'Closed',
  },
  lead: {
    noName: '(no name)',
    erased: '(erased)',
    owner: 'Owner',
    queued: 'Waiting in the team queue',
    priority: 'Priority',
    captured: 'Came in',
    clock: 'Response clock',
    acknowledged: (who, when) => `${who} is on it since ${when}.`,
    actions: 'Actions',
    imOnIt: "I'm on it",
    changeStatus: 'Change the status',
    newStatus: 'New status',
    reason: 'Reason',
    reasonHint: 'Needed for Lost.',
    amount: 'Amount',
    amountHint: 'Needed for Won, with its currency.',
    currency: 'Currency (ISO code)',
    save: 'Save',
    addNote: 'Add a note',
    note: 'Note',
    addNoteButton: 'Add the note',
    addTask: 'Add a task',
    taskType: 'Type',
    due: 'Due',
    dueHint: (timeZone) => `Your time (${timeZone}).`,
    taskTitle: 'Title',
    addTaskButton: 'Add the task',
    reassign: 'Reassign',
    reassignTo: 'To',
    nextAvailable: 'The next available manager of the team',
    reassignReason: 'Reason',
    reassignButton: 'Reassign',
    contact: 'Contact',
    identities: 'Ways to reach them',
    verified: 'verified',
    claimed: 'claimed, not verified',
    duplicates: 'Possible duplicates',
    noDuplicates: 'None found.',
    hiddenDuplicates: (count) => `${count} more you may not see.`,
    otherLeads: 'Other leads of this contact',
    timeline: 'Timeline, all channels, newest first',
    tasks: 'Tasks',
    noTasks: 'No tasks yet.',
    taskOpen: 'open',
    taskDone: 'done',
    message: 'Message',
    details: 'Details',
    email: 'Email',
    phone: 'Phone',
    page: 'Page',
    source: 'Source',
    tags: 'Tags',
    by: (who) => `by ${who}`,
    done: {
      acknowledged: 'You are on it: the response clock has stopped.',
      status: 'The status is changed.',
      note: 'The note is added.',
      task: 'The task is added.',
      assigned: 'The lead is reassigned.',
    },
    stale: 'The lead changed since you opened it. This is how it is now; please try again.',
    invalid: 'Please check these fields:',
    refused: 'This could not be done:',
    openContact: 'Open the contact',
  },
  contacts: {
    title: 'Find a contact',
    email: 'Email',
    phone: 'Phone',
    region: 'Country of a national number (e.g. KR, TH)',
    hint: 'Write it any way: spaces, dashes, brackets and capitals are fine.',
    search: 'Search',
    results: 'Contacts found',
    none: 'No contact you may see matches.',
    searched: (terms) => `Searched for ${terms}.`,
    leads: 'Leads',
  },
  me: {
    title: 'Me',
    availability: 'Availability',
    available: 'You can take new leads now.',
    unavailable: (reason) => `You get no new leads now: ${reason}.`,
    load: (open, capacity) => (capacity ? `Open leads: ${open} of ${capacity}.` : `Open leads: ${open}.`),
    outOfOffice: 'Out of office until',
    outOfOfficeNow: (until) => `Out of office until ${until}.`,
    away: 'Set out of office',
    back: "I'm back",
    workingHours: 'Working hours',
    timeZone: 'Time zone',
    dayHint: 'Like 09:00-18:00; several blocks with commas; empty is a day off.',
    noHours: 'No working hours of my own (the team’s hours apply)',
    saveHours: 'Save the working hours',
    alerts: 'Email alerts',
    alertsHint: 'Which events send you an email.',
    escalationLocked: 'Team leads always get escalations.',
    saveAlerts: 'Save the alerts',
    notManager: 'You are not a manager here, so there is no availability or alert to set.',
    timeZoneNote: (timeZone) => `Times are shown in ${timeZone}.`,
    saved: 'Saved.',
  },
  analytics: {
    title: 'Analytics',
    forbidden: 'Analytics are for team leads and admins.',
    from: 'From',
    to: 'To',
    team: 'Team',
    allTeams: 'All my teams',
    show: 'Show',
    totals: (captured, won, rate) => `${captured} leads, ${won} won, ${rate} conversion.`,
    byChannel: 'Leads and conversion per channel',
    bySource: 'Leads and conversion per source',
    speed: 'Speed to lead per manager',
    breaches: 'Response deadlines missed',
    daily: 'Leads per day',
    channel: 'Channel',
    source: 'Source',
    captured: 'Leads',
    contacted: 'Contacted',
    won: 'Won',
    conversion: 'Conversion',
    wonAmount: 'Won amount',
    manager: 'Manager',
    samples: 'Answered',
    median: 'Median',
    p90: '90th percentile',
    breached: 'Missed deadlines',
    unacknowledged: 'Still waiting',
    day: 'Day',
    assigned: 'Assigned',
    noData: 'No leads in this range.',
    tableOf: (chart) => `${chart}: the numbers`,
  },
};

const ko: Messages = {
  languageName: '한국어',
  skip: '본문으로 건너뛰기',
  nav: {
    label: '콘솔',
    inbox: '받은 리드',
    search: '연락처 찾기',
    me: '내 설정',
    analytics: '분석',
    signOut: '로그아웃',
  },
  language: '언어',
  signedInAs: (name, role) => `${name}(${role})으로 로그인됨`,
  role: { admin: '관리자', team_lead: '팀장', manager: '담당자' },
  status: {
    new: '신규',
    contacted: '연락함',
    qualified: '검증됨',
    proposal: '제안',
    won: '성사',
    lost: '실패',
  },
  channel: {
    web_form: '웹 양식',
    phone_call: '전화',
    sms: '문자',
    email: '이메일',
    whatsapp: 'WhatsApp',
    messenger: 'Messenger',
    instagram: 'Instagram',
    telegram: 'Telegram',
    chat: '채팅',
  },
  priority: { urgent: '긴급', high: '높음', normal: '보통', low: '낮음' },
  taskType: { call: '전화', meeting: '미팅', email: '이메일' },
  alertEvent: {
    new_lead: '나에게 새 리드가 배정될 때',
    message: '내 리드에 새 메시지가 올 때',
    sla_warning: '응답 기한이 가까울 때',
    escalation: '에스컬레이션(기한 초과, 배정 가능한 담당자 없음)',
    task_reminder: '할 일 알림',
  },
  weekday: {
    mon: '월요일',
    tue: '화요일',
    wed: '수요일',
    thu: '목요일',
    fri: '금요일',
    sat: '토요일',
    sun: '일요일',
  },
  kind: {
    interaction: '메시지',
    note: '메모',
    acknowledged: '처리 시작',
    status_changed: '상태 변경',
    assigned: '배정',
    dequeued: '대기열에서 배정',
    task_created: '할 일',
    sla_stopped: '응답 시계 멈춤',
    sla_warning: '기한 임박',
    sla_breached: '기한 초과',
    escalated: '에스컬레이션',
    merged: '병합',
    unmerged: '병합 취소',
    possible_duplicate: '중복 가능성',
    unsubscribed: '수신 거부',
    conversation_retired: '대화 종료',
    identity_skipped: '연결되지 않은 식별 정보',
    identity_unlisted: '삭제된 식별 정보',
  },
  unavailableReason: {
    inactive: '비활성 상태',
    out_of_office: '부재 중',
    outside_working_hours: '근무 시간 외',
    at_capacity: '담당 한도 도달',
  },
  notFound: {
    title: '찾을 수 없음',
    body: '그런 리드나 연락처가 없거나, 볼 수 있는 권한이 없습니다.',
  },
  forbidden: { title: '허용되지 않음', body: '현재 역할로는 할 수 없는 작업입니다.' },
  failed: { title: '문제가 발생했습니다', body: '아무것도 변경되지 않았습니다. 잠시 후 다시 시도해 주세요.' },
  tooLarge: '한 번에 보내기에는 내용이 너무 깁니다.',
  badRequest: '다른 페이지나 이전 세션에서 보낸 양식입니다. 다시 시도해 주세요.',
  backToInbox: '받은 리드로 돌아가기',
  login: {
    title: '로그인',
    localIntro: '로컬 시스템입니다. 로그인할 시드 사용자를 고르세요.',
    signInAs: (name) => `${name}(으)로 로그인`,
    unavailable: '이 서버에는 로그인이 설정되어 있지 않습니다.',
    expired: '세션이 만료되었습니다. 다시 로그인하면 하던 곳으로 돌아갑니다.',
    failed: '로그인이 완료되지 않았습니다. 다시 시도해 주세요.',
    signedOutTitle: '로그아웃됨',
    signedOut: '로그아웃되었습니다.',
    signInAgain: '다시 로그인',
  },
  inbox: {
    mine: '내 진행 중인 리드',
    team: '내 팀의 리드',
    all: '전체 리드',
    view: '누구의 리드',
    viewMine: '내 것',
    viewTeam: '내 팀',
    filters: '필터',
    status: '상태',
    channel: '채널',
    tag: '태그',
    anyOpen: '진행 중 전체',
    anyChannel: '모든 채널',
    apply: '적용',
    none: '여기에는 리드가 없습니다. 수고하셨습니다.',
    older: '이전 리드',
    count: (shown) => `${shown}건 표시. 긴급·기한 초과 먼저, 그다음 최신순.`,
  },
  clock: {
    waiting: (duration) => html`${duration}째 대기 중`,
    answered: (duration) => html`${duration} 만에 응답`,
    due: (time) => html`기한 ${time}`,
    overdue: (duration) => html`${duration} 초과`,
    closed: '종료됨',
  },
  lead: {
    noName: '(이름 없음)',
    erased: '(삭제됨)',
    owner: '담당자',
    queued: '팀 대기열에서 대기 중',
    priority: '우선순위',
    captured: '접수',
    clock: '응답 시계',
    acknowledged: (who, when) => `${who} 님이 ${when}부터 처리 중입니다.`,
    actions: '작업',
    imOnIt: '제가 맡을게요',
    changeStatus: '상태 변경',
    newStatus: '새 상태',
    reason: '사유',
    reasonHint: '실패에 필요합니다.',
    amount: '금액',
    amountHint: '성사에 통화와 함께 필요합니다.',
    currency: '통화(ISO 코드)',
    save: '저장',
    addNote: '메모 추가',
    note: '메모',
    addNoteButton: '메모 추가',
    addTask: '할 일 추가',
    taskType: '유형',
    due: '기한',
    dueHint: (timeZone) => `내 시간대(${timeZone}) 기준.`,
    taskTitle: '제목',
    addTaskButton: '할 일 추가',
    reassign: '재배정',
    reassignTo: '받을 사람',
    nextAvailable: '팀에서 다음으로 배정 가능한 담당자',
    reassignReason: '사유',
    reassignButton: '재배정',
    contact: '연락처',
    identities: '연락 방법',
    verified: '확인됨',
    claimed: '본인 입력, 미확인',
    duplicates: '중복 가능성',
    noDuplicates: '찾지 못했습니다.',
    hiddenDuplicates: (count) => `볼 수 없는 항목 ${count}건이 더 있습니다.`,
    otherLeads: '이 연락처의 다른 리드',
    timeline: '타임라인(모든 채널, 최신순)',
    tasks: '할 일',
    noTasks: '아직 할 일이 없습니다.',
    taskOpen: '진행 중',
    taskDone: '완료',
    message: '메시지',
    details: '세부 정보',
    email: '이메일',
    phone: '전화',
    page: '페이지',
    source: '출처',
    tags: '태그',
    by: (who) => `${who}`,
    done: {
      acknowledged: '처리를 시작했습니다. 응답 시계가 멈췄습니다.',
      status: '상태가 변경되었습니다.',
      note: '메모가 추가되었습니다.',
      task: '할 일이 추가되었습니다.',
      assigned: '리드가 재배정되었습니다.',
    },
    stale: '열어 본 뒤 리드가 바뀌었습니다. 현재 상태를 보여 드리니 다시 시도해 주세요.',
    invalid: '다음 항목을 확인해 주세요:',
    refused: '처리할 수 없습니다:',
    openContact: '연락처 열기',
  },
  contacts: {
    title: '연락처 찾기',
    email: '이메일',
    phone: '전화번호',
    region: '국내 번호의 국가(예: KR, TH)',
    hint: '어떻게 써도 됩니다. 공백, 대시, 괄호, 대문자 모두 괜찮습니다.',
    search: '검색',
    results: '찾은 연락처',
    none: '볼 수 있는 연락처 중 일치하는 것이 없습니다.',
    searched: (terms) => `검색어: ${terms}`,
    leads: '리드',
  },
  me: {
    title: '내 설정',
    availability: '배정 가능 여부',
    available: '지금 새 리드를 받을 수 있습니다.',
    unavailable: (reason) => `지금은 새 리드를 받지 않습니다: ${reason}.`,
    load: (open, capacity) =>
      capacity ? `진행 중인 리드 ${open}/${capacity}건.` : `진행 중인 리드 ${open}건.`,
    outOfOffice: '부재 종료 시각',
    outOfOfficeNow: (until) => `${until}까지 부재 중입니다.`,
    away: '부재 설정',
    back: '복귀했어요',
    workingHours: '근무 시간',
    timeZone: '시간대',
    dayHint: '예: 09:00-18:00. 여러 구간은 쉼표로 구분, 비우면 휴무.',
    noHours: '개인 근무 시간 없음(팀 근무 시간 적용)',
    saveHours: '근무 시간 저장',
    alerts: '이메일 알림',
    alertsHint: '어떤 일이 있을 때 이메일을 받을지 고르세요.',
    escalationLocked: '팀장은 에스컬레이션을 항상 받습니다.',
    saveAlerts: '알림 저장',
    notManager: '이곳의 담당자가 아니므로 설정할 배정 가능 여부나 알림이 없습니다.',
    timeZoneNote: (timeZone) => `시각은 ${timeZone} 기준으로 표시됩니다.`,
    saved: '저장했습니다.',
  },
  analytics: {
    title: '분석',
    forbidden: '분석은 팀장과 관리자용입니다.',
    from: '시작일',
    to: '종료일',
    team: '팀',
    allTeams: '내 모든 팀',
    show: '보기',
    totals: (captured, won, rate) => `리드 ${captured}건, 성사 ${won}건, 전환율 ${rate}.`,
    byChannel: '채널별 리드와 전환',
    bySource: '출처별 리드와 전환',
    speed: '담당자별 첫 응답 속도',
    breaches: '응답 기한 초과',
    daily: '일별 리드',
    channel: '채널',
    source: '출처',
    captured: '리드',
    contacted: '연락함',
    won: '성사',
    conversion: '전환율',
    wonAmount: '성사 금액',
    manager: '담당자',
    samples: '응답 수',
    median: '중앙값',
    p90: '90백분위',
    breached: '기한 초과',
    unacknowledged: '응답 대기',
    day: '날짜',
    assigned: '배정',
    noData: '이 기간에는 리드가 없습니다.',
    tableOf: (chart) => `${chart}: 수치`,
  },
};

const th: Messages = {
  languageName: 'ไทย',
  skip: 'ข้ามไปยังเนื้อหา',
  nav: {
    label: 'คอนโซล',
    inbox: 'กล่องลีด',
    search: 'ค้นหาผู้ติดต่อ',
    me: 'ของฉัน',
    analytics: 'การวิเคราะห์',
    signOut: 'ออกจากระบบ',
  },
  language: 'ภาษา',
  signedInAs: (name, role) => `เข้าสู่ระบบเป็น ${name} (${role})`,
  role: { admin: 'ผู้ดูแลระบบ', team_lead: 'หัวหน้าทีม', manager: 'ผู้ดูแลลูกค้า' },
  status: {
    new: 'ใหม่',
    contacted: 'ติดต่อแล้ว',
    qualified: 'ผ่านการคัดกรอง',
    proposal: 'เสนอราคา',
    won: 'ปิดการขายได้',
    lost: 'ไม่สำเร็จ',
  },
  channel: {
    web_form: 'แบบฟอร์มเว็บ',
    phone_call: 'โทรศัพท์',
    sms: 'SMS',
    email: 'อีเมล',
    whatsapp: 'WhatsApp',
    messenger: 'Messenger',
    instagram: 'Instagram',
    telegram: 'Telegram',
    chat: 'แชต',
  },
  priority: { urgent: 'ด่วนมาก', high: 'สูง', normal: 'ปกติ', low: 'ต่ำ' },
  taskType: { call: 'โทร', meeting: 'ประชุม', email: 'อีเมล' },
  alertEvent: {
    new_lead: 'มีลีดใหม่สำหรับฉัน',
    message: 'มีข้อความใหม่ในลีดของฉัน',
    sla_warning: 'ใกล้ถึงกำหนดตอบกลับ',
    escalation: 'การยกระดับ (ลีดเกินกำหนด ไม่มีใครว่าง)',
    task_reminder: 'การเตือนงาน',
  },
  weekday: {
    mon: 'วันจันทร์',
    tue: 'วันอังคาร',
    wed: 'วันพุธ',
    thu: 'วันพฤหัสบดี',
    fri: 'วันศุกร์',
    sat: 'วันเสาร์',
    sun: 'วันอาทิตย์',
  },
  kind: {
    interaction: 'ข้อความ',
    note: 'บันทึก',
    acknowledged: 'รับเรื่องแล้ว',
    status_changed: 'เปลี่ยนสถานะ',
    assigned: 'มอบหมาย',
    dequeued: 'มอบหมายจากคิว',
    task_created: 'งาน',
    sla_stopped: 'หยุดนาฬิกาตอบกลับ',
    sla_warning: 'ใกล้ถึงกำหนด',
    sla_breached: 'เกินกำหนด',
    escalated: 'ยกระดับ',
    merged: 'รวมข้อมูล',
    unmerged: 'ยกเลิกการรวม',
    possible_duplicate: 'อาจซ้ำกัน',
    unsubscribed: 'ยกเลิกการรับ',
    conversation_retired: 'ปิดบทสนทนา',
    identity_skipped: 'ไม่ได้เชื่อมข้อมูลติดต่อ',
    identity_unlisted: 'ลบข้อมูลติดต่อ',
  },
  unavailableReason: {
    inactive: 'ไม่ได้ใช้งาน',
    out_of_office: 'ไม่อยู่ที่ทำงาน',
    outside_working_hours: 'นอกเวลาทำงาน',
    at_capacity: 'รับลีดเต็มจำนวนแล้ว',
  },
  notFound: {
    title: 'ไม่พบ',
    body: 'ไม่มีลีดหรือผู้ติดต่อนี้ หรือคุณไม่มีสิทธิ์ดู',
  },
  forbidden: { title: 'ไม่อนุญาต', body: 'บทบาทของคุณทำสิ่งนี้ไม่ได้' },
  failed: { title: 'เกิดข้อผิดพลาด', body: 'ยังไม่มีอะไรเปลี่ยนแปลง โปรดลองอีกครั้งในอีกสักครู่' },
  tooLarge: 'ข้อความยาวเกินกว่าจะส่งในครั้งเดียว',
  badRequest: 'แบบฟอร์มนี้ส่งมาจากหน้าอื่นหรือเซสชันเก่า โปรดลองอีกครั้ง',
  backToInbox: 'กลับไปที่กล่องลีด',
  login: {
    title: 'เข้าสู่ระบบ',
    localIntro: 'นี่คือระบบในเครื่อง เลือกผู้ใช้ตัวอย่างเพื่อเข้าสู่ระบบ',
    signInAs: (name) => `เข้าสู่ระบบเป็น ${name}`,
    unavailable: 'เซิร์ฟเวอร์นี้ยังไม่ได้ตั้งค่าการเข้าสู่ระบบ',
    expired: 'เซสชันของคุณหมดอายุแล้ว เข้าสู่ระบบอีกครั้งเพื่อกลับไปยังหน้าที่ค้างไว้',
    failed: 'เข้าสู่ระบบไม่สำเร็จ โปรดลองอีกครั้ง',
    signedOutTitle: 'ออกจากระบบแล้ว',
    signedOut: 'คุณออกจากระบบแล้ว',
    signInAgain: 'เข้าสู่ระบบอีกครั้ง',
  },
  inbox: {
    mine: 'ลีดที่เปิดอยู่ของคุณ',
    team: 'ลีดของทีมคุณ',
    all: 'ลีดทั้งหมด',
    view: 'ลีดของใคร',
    viewMine: 'ของฉัน',
    viewTeam: 'ทีมของฉัน',
    filters: 'ตัวกรอง',
    status: 'สถานะ',
    channel: 'ช่องทาง',
    tag: 'แท็ก',
    anyOpen: 'ที่เปิดอยู่ทั้งหมด',
    anyChannel: 'ทุกช่องทาง',
    apply: 'ใช้ตัวกรอง',
    none: 'ไม่มีลีดที่นี่ เยี่ยมมาก',
    older: 'ลีดที่เก่ากว่า',
    count: (shown) => `แสดง ${shown} รายการ ด่วนและเกินกำหนดก่อน แล้วเรียงจากใหม่สุด`,
  },
  clock: {
    waiting: (duration) => html`รอมาแล้ว ${duration}`,
    answered: (duration) => html`ตอบกลับภายใน ${duration}`,
    due: (time) => html`กำหนด ${time}`,
    overdue: (duration) => html`เกินกำหนด ${duration}`,
    closed: 'ปิดแล้ว',
  },
  lead: {
    noName: '(ไม่มีชื่อ)',
    erased: '(ลบแล้ว)',
    owner: 'ผู้รับผิดชอบ',
    queued: 'รออยู่ในคิวของทีม',
    priority: 'ความสำคัญ',
    captured: 'เข้ามาเมื่อ',
    clock: 'นาฬิกาตอบกลับ',
    acknowledged: (who, when) => `${who} รับเรื่องตั้งแต่ ${when}`,
    actions: 'การดำเนินการ',
    imOnIt: 'ฉันรับเรื่องนี้',
    changeStatus: 'เปลี่ยนสถานะ',
    newStatus: 'สถานะใหม่',
    reason: 'เหตุผล',
    reasonHint: 'จำเป็นสำหรับ ไม่สำเร็จ',
    amount: 'จำนวนเงิน',
    amountHint: 'จำเป็นสำหรับ ปิดการขายได้ พร้อมสกุลเงิน',
    currency: 'สกุลเงิน (รหัส ISO)',
    save: 'บันทึก',
    addNote: 'เพิ่มบันทึก',
    note: 'บันทึก',
    addNoteButton: 'เพิ่มบันทึก',
    addTask: 'เพิ่มงาน',
    taskType: 'ประเภท',
    due: 'กำหนดเวลา',
    dueHint: (timeZone) => `ตามเวลาของคุณ (${timeZone})`,
    taskTitle: 'หัวข้อ',
    addTaskButton: 'เพิ่มงาน',
    reassign: 'มอบหมายใหม่',
    reassignTo: 'ให้กับ',
    nextAvailable: 'ผู้ดูแลคนถัดไปในทีมที่ว่าง',
    reassignReason: 'เหตุผล',
    reassignButton: 'มอบหมายใหม่',
    contact: 'ผู้ติดต่อ',
    identities: 'ช่องทางติดต่อ',
    verified: 'ยืนยันแล้ว',
    claimed: 'ผู้ติดต่อกรอกเอง ยังไม่ยืนยัน',
    duplicates: 'อาจซ้ำกัน',
    noDuplicates: 'ไม่พบ',
    hiddenDuplicates: (count) => `มีอีก ${count} รายการที่คุณไม่มีสิทธิ์ดู`,
    otherLeads: 'ลีดอื่นของผู้ติดต่อนี้',
    timeline: 'ไทม์ไลน์ ทุกช่องทาง ใหม่สุดก่อน',
    tasks: 'งาน',
    noTasks: 'ยังไม่มีงาน',
    taskOpen: 'ยังไม่เสร็จ',
    taskDone: 'เสร็จแล้ว',
    message: 'ข้อความ',
    details: 'รายละเอียด',
    email: 'อีเมล',
    phone: 'โทรศัพท์',
    page: 'หน้าเว็บ',
    source: 'แหล่งที่มา',
    tags: 'แท็ก',
    by: (who) => `โดย ${who}`,
    done: {
      acknowledged: 'คุณรับเรื่องแล้ว นาฬิกาตอบกลับหยุดแล้ว',
      status: 'เปลี่ยนสถานะแล้ว',
      note: 'เพิ่มบันทึกแล้ว',
      task: 'เพิ่มงานแล้ว',
      assigned: 'มอบหมายลีดใหม่แล้ว',
    },
    stale: 'ลีดมีการเปลี่ยนแปลงหลังจากที่คุณเปิดดู นี่คือสถานะล่าสุด โปรดลองอีกครั้ง',
    invalid: 'โปรดตรวจสอบช่องเหล่านี้:',
    refused: 'ทำรายการนี้ไม่ได้:',
    openContact: 'เปิดผู้ติดต่อ',
  },
  contacts: {
    title: 'ค้นหาผู้ติดต่อ',
    email: 'อีเมล',
    phone: 'โทรศัพท์',
    region: 'ประเทศของเบอร์ในประเทศ (เช่น KR, TH)',
    hint: 'พิมพ์แบบไหนก็ได้ เว้นวรรค ขีด วงเล็บ หรือตัวพิมพ์ใหญ่ก็ได้',
    search: 'ค้นหา',
    results: 'ผู้ติดต่อที่พบ',
    none: 'ไม่พบผู้ติดต่อที่คุณมีสิทธิ์ดู',
    searched: (terms) => `ค้นหา ${terms}`,
    leads: 'ลีด',
  },
  me: {
    title: 'ของฉัน',
    availability: 'ความพร้อมรับลีด',
    available: 'ตอนนี้คุณรับลีดใหม่ได้',
    unavailable: (reason) => `ตอนนี้คุณไม่ได้รับลีดใหม่: ${reason}`,
    load: (open, capacity) => (capacity ? `ลีดที่เปิดอยู่: ${open} จาก ${capacity}` : `ลีดที่เปิดอยู่: ${open}`),
    outOfOffice: 'ไม่อยู่จนถึง',
    outOfOfficeNow: (until) => `ไม่อยู่จนถึง ${until}`,
    away: 'ตั้งค่าไม่อยู่',
    back: 'ฉันกลับมาแล้ว',
    workingHours: 'เวลาทำงาน',
    timeZone: 'เขตเวลา',
    dayHint: 'เช่น 09:00-18:00 หลายช่วงคั่นด้วยจุลภาค เว้นว่างคือวันหยุด',
    noHours: 'ไม่มีเวลาทำงานของตัวเอง (ใช้เวลาทำงานของทีม)',
    saveHours: 'บันทึกเวลาทำงาน',
    alerts: 'การแจ้งเตือนทางอีเมล',
    alertsHint: 'เลือกเหตุการณ์ที่จะส่งอีเมลถึงคุณ',
    escalationLocked: 'หัวหน้าทีมได้รับการยกระดับเสมอ',
    saveAlerts: 'บันทึกการแจ้งเตือน',
    notManager: 'คุณไม่ใช่ผู้ดูแลลูกค้าในระบบนี้ จึงไม่มีความพร้อมหรือการแจ้งเตือนให้ตั้งค่า',
    timeZoneNote: (timeZone) => `แสดงเวลาตาม ${timeZone}`,
    saved: 'บันทึกแล้ว',
  },
  analytics: {
    title: 'การวิเคราะห์',
    forbidden: 'การวิเคราะห์สำหรับหัวหน้าทีมและผู้ดูแลระบบ',
    from: 'ตั้งแต่',
    to: 'ถึง',
    team: 'ทีม',
    allTeams: 'ทุกทีมของฉัน',
    show: 'แสดง',
    totals: (captured, won, rate) => `ลีด ${captured} รายการ ปิดการขายได้ ${won} อัตราการแปลง ${rate}`,
    byChannel: 'ลีดและการแปลงตามช่องทาง',
    bySource: 'ลีดและการแปลงตามแหล่งที่มา',
    speed: 'ความเร็วในการตอบลีดของแต่ละคน',
    breaches: 'การตอบกลับที่เกินกำหนด',
    daily: 'ลีดรายวัน',
    channel: 'ช่องทาง',
    source: 'แหล่งที่มา',
    captured: 'ลีด',
    contacted: 'ติดต่อแล้ว',
    won: 'ปิดการขายได้',
    conversion: 'อัตราการแปลง',
    wonAmount: 'ยอดที่ปิดได้',
    manager: 'ผู้ดูแลลูกค้า',
    samples: 'ตอบแล้ว',
    median: 'ค่ามัธยฐาน',
    p90: 'เปอร์เซ็นไทล์ที่ 90',
    breached: 'เกินกำหนด',
    unacknowledged: 'ยังรออยู่',
    day: 'วัน',
    assigned: 'มอบหมาย',
    noData: 'ไม่มีลีดในช่วงนี้',
    tableOf: (chart) => `${chart}: ตัวเลข`,
  },
};

const CATALOGS: Readonly<Record<Language, Messages>> = { en, ko, th };

/** The `Intl` locale of each language. */
const LOCALES: Readonly<Record<Language, string>> = { en: 'en', ko: 'ko-KR', th: 'th-TH' };

export function messages(language: Language): Messages {
  return CATALOGS[language];
}

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The page's language: the switch (a cookie) first, since a person chose it here; then the user's own
 * setting (the manager's `language`); then the browser's `Accept-Language` by its weights; else English.
 */
export function chooseLanguage(input: {
  readonly chosen?: string | undefined;
  readonly setting?: string | undefined;
  readonly acceptLanguage?: string | undefined;
}): Language {
  if (isLanguage(input.chosen)) return input.chosen;
  if (isLanguage(input.setting)) return input.setting;
  return fromAcceptLanguage(input.acceptLanguage) ?? 'en';
}

/** The supported language the browser prefers most (`ko-KR;q=0.9` counts as `ko`), if any. */
export function fromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  const ranked = header
    .slice(0, 500)
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((param) => /^\s*q=([0-9.]+)\s*$/.exec(param)?.[1]).find(Boolean);
      return { language: tag.trim().toLowerCase().split('-')[0], q: q ? Number(q) : 1, index };
    })
    .filter((entry) => entry.q > 0 && isLanguage(entry.language))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked[0]?.language as Language | undefined;
}

/** Formatters for one language and time zone. */
export interface Format {
  readonly locale: string;
  readonly timeZone: string;
  /** A date and time in the viewer's time zone. */
  dateTime(iso: string | undefined): string;
  /** A day (YYYY-MM-DD) as the language writes it. */
  day(day: string): string;
  /** `3 min`, `2 hr 5 min`, `45 sec`: the same rule as the live clock in the browser. */
  duration(ms: number): string;
  number(value: number): string;
  percent(rate: number): string;
  money(amount: number, currency: string): string;
  /** The `YYYY-MM-DDTHH:mm` of an instant in the viewer's time zone, for a `datetime-local` input. */
  localInput(iso: string | undefined): string;
}

const UNIT_CACHE = new Map<string, Intl.NumberFormat>();

function unit(locale: string, value: number, name: 'second' | 'minute' | 'hour' | 'day'): string {
  const key = `${locale}|${name}`;
  let format = UNIT_CACHE.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: 'unit', unit: name, unitDisplay: 'short' });
    UNIT_CACHE.set(key, format);
  }
  return format.format(value);
}

/** Seconds under a minute, minutes under an hour, then hours and minutes, then days and hours. */
export function formatDuration(locale: string, ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return unit(locale, seconds, 'second');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return unit(locale, minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest
      ? `${unit(locale, hours, 'hour')} ${unit(locale, rest, 'minute')}`
      : unit(locale, hours, 'hour');
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest ? `${unit(locale, days, 'day')} ${unit(locale, rest, 'hour')}` : unit(locale, days, 'day');
}

/** The wall-clock fields of an instant in a time zone. */
function wallClock(date: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour') % 24,
    minute: get('minute'),
    second: get('second'),
  };
}

/**
 * The instant a `datetime-local` value (`2026-12-04T10:00`) means in `timeZone`, as ISO; undefined when it
 * is not such a value. Resolved with the zone's offset at that time (twice, for a DST change in between).
 */
export function zonedToIso(local: string, timeZone: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!match) return undefined;
  const [y, mo, d, h, mi, s] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wanted = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(wanted)) return undefined;
  let guess = wanted;
  for (let pass = 0; pass < 2; pass++) {
    const seen = wallClock(new Date(guess), timeZone);
    const seenMs = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second);
    guess += wanted - seenMs;
  }
  return new Date(guess).toISOString();
}

export function formatter(language: Language, timeZone: string): Format {
  const locale = LOCALES[language];
  const dateTime = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'short' });
  const dayFormat = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', month: 'short', day: 'numeric' });
  const numbers = new Intl.NumberFormat(locale);
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const two = (value: number) => String(value).padStart(2, '0');
  return {
    locale,
    timeZone,
    dateTime: (iso) => {
      if (!iso) return '';
      const date = new Date(iso);
      return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
    },
    day: (day) => {
      const date = new Date(`${day}T00:00:00Z`);
      return Number.isNaN(date.getTime()) ? day : dayFormat.format(date);
    },
    duration: (ms) => formatDuration(locale, ms),
    number: (value) => numbers.format(value),
    percent: (rate) => percent.format(rate),
    money: (amount, currency) => {
      try {
        return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amount);
      } catch {
        return `${numbers.format(amount)} ${currency}`;
      }
    },
    localInput: (iso) => {
      if (!iso) return '';
      const date = new Date(iso);
      if (Number.isNaN(date.getTime())) return '';
      const w = wallClock(date, timeZone);
      return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}:${two(w.minute)}`;
    },
  };
}
