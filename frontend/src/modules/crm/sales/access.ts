/** What the caller may do in the CRM: the module's access (a paused booking is read-only) and the permissions. */
import { computed } from 'vue'
import { useAuthStore } from '@/core/auth/store'
import { useWorkspace } from '@/core/shell/workspace'

export function useCrmAccess() {
  const auth = useAuthStore()
  const workspace = useWorkspace()
  const writable = computed(() => workspace.menu.find((e) => e.slug === 'crm')?.access !== 'read')
  const can = (permission: string) => computed(() => writable.value && auth.can(permission))
  return {
    writable,
    canCreateDeal: can('crm.deal:create'),
    canUpdateDeal: can('crm.deal:update'),
    canDeleteDeal: can('crm.deal:delete'),
    canUpdateLead: can('crm.lead:update'),
    canConvertLead: computed(() => writable.value && auth.can('crm.lead:update') && auth.can('contacts.contact:create')),
    canReadPipelines: computed(() => auth.can('crm.pipeline:read')),
  }
}
