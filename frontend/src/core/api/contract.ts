/**
 * The onboarding, mail and preference endpoints, typed from the generated schema and called
 * through the shared client (token, silent refresh): context, sign-up, first-run setup, password
 * reset and invitations, the mail outbox, the user's preferences.
 */
import { api, unwrap } from './client'
import type { components } from './schema'

type Schemas = components['schemas']

export type AppContext = Omit<Schemas['ContextRead'], 'kind' | 'mode'> & {
  kind: 'tenant' | 'platform'
  mode: 'saas' | 'selfhosted' | string
}
export type Handoff = Schemas['SignupResult']
export type SignupBody = Schemas['SignupRequest']
export type SetupBody = Schemas['SetupRequest']
export type SetupInfo = Omit<Schemas['SetupStatus'], 'database'> & { database: { engine?: string; ok?: boolean; [key: string]: unknown } }
export type OutboxMail = Schemas['MailRead']
export type OutboxPage = Schemas['Page_MailRead_']
export type Preferences = Schemas['Preferences']

export const contract = {
  context: async () => (await unwrap(api.GET('/api/context'))) as AppContext,
  signup: (body: SignupBody) => unwrap(api.POST('/api/signup', { body })),
  setupInfo: async () => (await unwrap(api.GET('/api/setup'))) as SetupInfo,
  setup: (body: SetupBody) => unwrap(api.POST('/api/setup', { body })),
  requestReset: async (email: string) => {
    await unwrap(api.POST('/api/password-reset', { body: { email } }))
  },
  confirmReset: async (token: string, password: string) => {
    await unwrap(api.POST('/api/password-reset/confirm', { body: { token, password } }))
  },
  invite: async (userId: string) => {
    await unwrap(api.POST('/api/users/{user_id}/invite', { params: { path: { user_id: userId } } }))
  },
  outbox: (cursor?: string | null, limit = 50, platform = false) =>
    platform
      ? unwrap(api.GET('/api/platform/mail/outbox', { params: { query: { limit, cursor: cursor ?? undefined } } }))
      : unwrap(api.GET('/api/mail/outbox', { params: { query: { limit, cursor: cursor ?? undefined } } })),
  preferences: () => unwrap(api.GET('/api/me/preferences')),
  savePreferences: (data: Record<string, unknown>) => unwrap(api.PUT('/api/me/preferences', { body: { data } })),
}
