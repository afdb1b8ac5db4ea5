/** Navigation rules: log in first, keep module routes in step, set the page title. */
import type { Router } from 'vue-router'
import { i18n } from '@/core/i18n'
import { useAuthStore } from '@/core/auth/store'
import { useWorkspace } from '@/core/shell/workspace'
import { loadContext } from '@/core/context'
import { usePreferences } from '@/core/preferences'

export function installGuards(router: Router): void {
  router.beforeEach(async (to) => {
    const auth = useAuthStore()
    await auth.init()
    if (to.name === 'login' || to.name === 'signup' || to.name === 'setup') {
      // The platform's own host before its first-run setup: only the setup wizard makes sense.
      const context = await loadContext()
      if (context?.kind === 'platform' && context.setup_required && to.name !== 'setup') return { name: 'setup' }
      if (to.name === 'setup' && context && !context.setup_required) return { name: 'login' }
    }
    if (to.meta.public) {
      if (to.name === 'login' && auth.isAuthenticated) {
        const next = typeof to.query.next === 'string' && to.query.next.startsWith('/') ? to.query.next : '/'
        return next
      }
      return true
    }
    if (!auth.isAuthenticated) {
      return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
    }
    if (auth.me) await usePreferences().ensure(auth.me.id, auth.me.locale)
    const changed = await useWorkspace().ensure()
    // A deep link into a module matched the catch-all before its routes existed: resolve it again.
    if (changed && to.name === 'not-found') return to.fullPath
    return true
  })

  router.afterEach((to) => {
    const t = i18n.global.t as (key: string) => string
    const title = to.meta.title ? t(to.meta.title) : ''
    document.title = title ? `${title} · XyNaP` : 'XyNaP'
  })

  // A session that ends while the user works (refresh token expired or revoked): back to the login,
  // and afterwards to the same page.
  const auth = useAuthStore()
  auth.onExpired(() => {
    const current = router.currentRoute.value
    useWorkspace().reset()
    if (!current.meta.public) void router.replace({ name: 'login', query: { next: current.fullPath } })
  })
}
