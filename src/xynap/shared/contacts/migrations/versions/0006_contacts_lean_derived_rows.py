"""contacts: match keys keyed by (contact_id, kind, key), tag links by (contact_id, tag_id); no duplicate
tenant indexes

Revision ID: contacts_0006
Revises: contacts_0005
Create Date: 2026-11-22 09:00:00

Why: a contact has five or six match keys (e-mail, phone, name, sound, custom field values), so an import
of 100,000 contacts writes half a million of these rows. Each carried a random id with its own index,
a separate ``contact_id`` index, a ``tenant_id`` index and a foreign key to ``tenants`` checked per row:
measured on PostgreSQL, the key rows cost as much database time as the contacts and their search rows
together. Now the key is the row's identity (primary key ``(contact_id, kind, key)``, which also finds a
contact's keys), the lookup index stays, and the rows go with their contact (its foreign key cascades,
and the contact's own goes with the tenant). ``contacts`` loses its single-column tenant index, which
both of its (tenant_id, …) indexes already serve. Tag links get the same treatment: the pair
``(contact_id, tag_id)`` was already unique and becomes the key (replacing the id, its index, the unique
constraint's index and the ``contact_id`` index); the links go with their contact or tag, so the tenant
key and index go too; ``(tag_id, tenant_id, contact_id)`` stays.

Rows that would collide under the new key (the same key twice for one contact, which the service never
writes) are removed first.
"""

import sqlalchemy as sa
from alembic import op

revision = "contacts_0006"
down_revision = "contacts_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # every tenant's rows (row-level security shows a migration none without the platform flag)
        bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))
        op.execute("DELETE FROM contact_match_keys a USING contact_match_keys b WHERE a.contact_id = b.contact_id "
                   "AND a.kind = b.kind AND a.key = b.key AND a.id > b.id")
    else:
        op.execute("DELETE FROM contact_match_keys WHERE rowid NOT IN (SELECT min(rowid) FROM contact_match_keys "
                   "GROUP BY contact_id, kind, key)")
    op.drop_index("ix_contact_match_keys_tenant_id", table_name="contact_match_keys")
    op.drop_index("ix_contact_match_keys_contact_id", table_name="contact_match_keys")
    # SQLite changes keys and foreign keys by copying the table; PostgreSQL alters it in place
    with op.batch_alter_table("contact_match_keys") as batch:
        batch.drop_constraint("fk_contact_match_keys_tenant_id_tenants", type_="foreignkey")
        batch.drop_constraint("pk_contact_match_keys", type_="primary")
        batch.drop_column("id")
        batch.create_primary_key("pk_contact_match_keys", ["contact_id", "kind", "key"])
    op.drop_index("ix_contacts_tenant_id", table_name="contacts")
    op.drop_index("ix_contact_tags_tenant_id", table_name="contact_tags")
    op.drop_index("ix_contact_tags_contact_id", table_name="contact_tags")
    with op.batch_alter_table("contact_tags") as batch:
        batch.drop_constraint("fk_contact_tags_tenant_id_tenants", type_="foreignkey")
        batch.drop_constraint("uq_contact_tags_contact_id_tag_id", type_="unique")
        batch.drop_constraint("pk_contact_tags", type_="primary")
        batch.drop_column("id")
        batch.create_primary_key("pk_contact_tags", ["contact_id", "tag_id"])


def _restore_ids(table: str, *, unique: list[str] | None = None) -> None:
    """Give ``table`` back its ``id`` key (a fresh random UUID per row) and its tenant foreign key."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(f"pk_{table}", type_="primary")
        batch.add_column(sa.Column("id", sa.Uuid(), nullable=True))
        if unique:
            batch.create_unique_constraint(f"uq_{table}_{'_'.join(unique)}", unique)
        batch.create_foreign_key(f"fk_{table}_tenant_id_tenants", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('xynap.platform', 'on', true)"))  # every tenant's rows
        op.execute(f"UPDATE {table} SET id = gen_random_uuid()")
    else:
        op.execute(f"UPDATE {table} SET id = lower(hex(randomblob(16)))")
    with op.batch_alter_table(table) as batch:
        batch.alter_column("id", nullable=False)
        batch.create_primary_key(f"pk_{table}", ["id"])
    op.create_index(f"ix_{table}_contact_id", table, ["contact_id"])
    op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])


def downgrade() -> None:
    _restore_ids("contact_tags", unique=["contact_id", "tag_id"])
    op.create_index("ix_contacts_tenant_id", "contacts", ["tenant_id"])
    _restore_ids("contact_match_keys")
